/*
 * fuzz_event.c - libFuzzer target: the client's event decoder
 * (client/subscriber.c's rk_event_decode), on a message as a SUB socket
 * hands it over: a topic, a NUL, a rankd.Event.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rankd/subscriber.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *topic;
    Rankd__Event *ev;
    if (rk_event_decode(data, size, &topic, &ev) != 0) return 0;
    if (topic != (const char *)data || memchr(data, '\0', size) == NULL) abort();
    /* Walk what a callback would read. */
    size_t n = strlen(topic);
    switch (ev->kind_case) {
        case RANKD__EVENT__KIND_TOP:
            for (size_t i = 0; i < ev->top->n_entries; i++) n += ev->top->entries[i] != NULL;
            break;
        case RANKD__EVENT__KIND_RANK: n += ev->rank->has_new_rank; break;
        case RANKD__EVENT__KIND_ROLLED: n += ev->rolled->board_id ? strlen(ev->rolled->board_id) : 0; break;
        default: break;
    }
    (void)n;
    rankd__event__free_unpacked(ev, NULL);
    return 0;
}
