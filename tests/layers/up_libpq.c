/* Must not compile: above the store, libpq is out of sight. */
#include <libpq-fe.h>
