// The MySQL C API as shipped by MariaDB Connector/C (Debian: libmariadb-dev, pkg-config libmariadb).
#include <mysql.h>
