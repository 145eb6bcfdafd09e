/* Must not compile: the base layer sees nothing of rankd but the schema. */
#include "board.h"
