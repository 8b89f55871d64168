// File-system calls that Swift's Glibc module does not export. The storage node keeps each blob's SHA-256 in an
// extended attribute (<sys/xattr.h>) on the blob file itself, and starts a small blob's writeback early with
// sync_file_range(2), a GNU extension, so the fsyncs of a commit batch find their data already written.
#include <sys/xattr.h>

/// sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE): starts writing the file's dirty pages back, without waiting
/// and without any durability promise (the fsync that follows gives that).
int dfs_start_writeback(int fd);
