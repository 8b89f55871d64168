// Empty: CXattr only exposes <sys/xattr.h> to Swift (a C target needs one source file).
#include "CXattr.h"
