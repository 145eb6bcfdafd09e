/* Must not compile: a service may not see the RPC layer. */
#include "handlers.h"
