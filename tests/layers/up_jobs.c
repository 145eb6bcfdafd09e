/* Must not compile: a background job may not see the RPC layer. */
#include "rpc.h"
