// Extended attributes (<sys/xattr.h>), which Swift's Glibc module does not export: the storage node keeps each
// blob's SHA-256 in one, on the blob file itself.
#include <sys/xattr.h>
