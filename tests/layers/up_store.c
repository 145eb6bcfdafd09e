/* Must not compile: a store may not see the services above it. */
#include "server.h"
