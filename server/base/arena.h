/*
 * arena.h - per-request bump allocator.
 *
 * A request's decoded message, its reply and everything a handler builds
 * for the reply come from one arena, released at once by arena_reset()
 * when the reply is sent. No per-field frees, no leaks on error paths.
 * protobuf-c unpacks into it through arena_allocator().
 */
#ifndef RANKD_ARENA_H
#define RANKD_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct arena_chunk arena_chunk;

typedef struct arena {
    arena_chunk *head; /* newest chunk first */
    ProtobufCAllocator pb;
} arena;

void arena_init(arena *a);
/* Frees every chunk but the first, and rewinds it. */
void arena_reset(arena *a);
void arena_free(arena *a);

/* 16-byte aligned, zeroed; NULL when out of memory. */
void *arena_alloc(arena *a, size_t size);
char *arena_strdup(arena *a, const char *s);
ProtobufCAllocator *arena_allocator(arena *a);

#endif
