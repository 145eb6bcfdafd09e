/*
 * arena.c - chunks of at least 16 KiB, chained; allocations never move.
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define CHUNK_MIN (16u << 10)

struct arena_chunk {
    arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

static void *pb_alloc(void *data, size_t size) { return arena_alloc(data, size); }
static void pb_free(void *data, void *ptr) { (void)data, (void)ptr; /* freed by reset */ }

void arena_init(arena *a) {
    a->head = NULL;
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
}

void arena_reset(arena *a) {
    while (a->head && a->head->next) {
        arena_chunk *c = a->head;
        a->head = c->next;
        free(c);
    }
    if (a->head) a->head->used = 0;
}

void arena_free(arena *a) {
    arena_reset(a);
    free(a->head);
    a->head = NULL;
}

void *arena_alloc(arena *a, size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (size == 0) size = 16;
    arena_chunk *c = a->head;
    if (c == NULL || c->cap - c->used < size) {
        size_t cap = size > CHUNK_MIN ? size : CHUNK_MIN;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL) return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *arena_strdup(arena *a, const char *s) {
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(a, n);
    if (p) memcpy(p, s, n);
    return p;
}

ProtobufCAllocator *arena_allocator(arena *a) { return &a->pb; }
