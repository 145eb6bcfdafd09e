/* Must compile: a service sees its own layer and every layer below. */
#include "arena.h"
#include "board.h"
#include "server.h"
#include "store_redis.h"
