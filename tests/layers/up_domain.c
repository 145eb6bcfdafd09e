/* Must not compile: pure logic may not see a store. */
#include "store_redis.h"
