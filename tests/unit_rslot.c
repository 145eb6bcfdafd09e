/* Key -> Redis Cluster slot, with the expected values taken from
 * CLUSTER KEYSLOT of Redis 7.0 (it_cluster_slots checks hundreds more
 * against a live cluster). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rslot.h"

static int slot(const char *key) { return rslot_of(key, strlen(key)); }

static void crc16_is_xmodem(void) {
    CHECK_INT(rslot_crc16("123456789", 9), 0x31C3);
    CHECK_INT(rslot_crc16("", 0), 0);
}

static void plain_keys(void) {
    CHECK_INT(slot("foo"), 12182);
    CHECK_INT(slot("bar"), 5061);
    CHECK_INT(slot(""), 0);
    CHECK_INT(slot("rk:names"), 13330);
    CHECK_INT(slot("rk:live"), 16286);
    CHECK_INT(slot("rk:wb"), 390);
}

static void hash_tags(void) {
    CHECK_INT(slot("rk:{global}:all"), 10408);
    CHECK_INT(slot("rk:{global}:all"), slot("global"));
    CHECK_INT(slot("{user1000}.following"), 3443);
    /* The first '{' and the first '}' after it, nothing else. */
    CHECK_INT(slot("foo{bar}{zap}"), 5061);
    CHECK_INT(slot("foo{{bar}}zap"), 4015);
    CHECK_INT(slot("foo{{bar}}zap"), slot("{bar"));
}

static void empty_or_open_tags_hash_the_whole_key(void) {
    CHECK_INT(slot("foo{}{bar}"), 8363);
    CHECK_INT(slot("{}"), 15257);
    CHECK_INT(slot("{"), 4092);
    CHECK_INT(slot("}"), 12090);
    CHECK_INT(slot("a{b"), 13340);
}

static void binary_keys(void) {
    /* A NUL is a byte like any other: the length decides. */
    CHECK(rslot_of("a\0b", 3) != rslot_of("a", 1));
    CHECK_INT(rslot_of("x{a\0b}y", 7), rslot_of("a\0b", 3));
}

static int cmd_slot(int argc, const char **argv) { return rslot_of_command(argc, argv, NULL); }

static void first_key_of_commands(void) {
    const char *fcall[] = {"FCALL", "rk_submit", "2", "rk:{7}:all", "rk:wb", "arg"};
    CHECK_INT(cmd_slot(6, fcall), slot("7"));
    const char *fcall_ro[] = {"fcall_ro", "rk_top", "1", "rk:{b}:all", "0"};
    CHECK_INT(cmd_slot(5, fcall_ro), slot("b"));
    const char *nokeys[] = {"FCALL", "f", "0", "arg"};
    CHECK_INT(cmd_slot(4, nokeys), -1);
    const char *xread[] = {"XREADGROUP", "GROUP", "g", "n", "COUNT", "5", "STREAMS", "rk:wb", ">"};
    CHECK_INT(cmd_slot(9, xread), slot("rk:wb"));
    const char *xgroup[] = {"XGROUP", "CREATE", "rk:wb", "rankd", "0"};
    CHECK_INT(cmd_slot(5, xgroup), slot("rk:wb"));
    const char *xinfo[] = {"XINFO", "GROUPS", "rk:{b}:wb"};
    CHECK_INT(cmd_slot(3, xinfo), slot("b"));
    const char *set[] = {"SET", "rk:live", "1"};
    CHECK_INT(cmd_slot(3, set), slot("rk:live"));
    const char *keyless[][2] = {{"PING", ""}, {"INFO", "cluster"}, {"PUBLISH", "rk:ev"}, {"FUNCTION", "LOAD"}};
    for (int i = 0; i < 4; i++) CHECK_INT(cmd_slot(2, keyless[i]), -1);
    const char *bin[] = {"GET", "a\0b"};
    size_t lens[] = {3, 3};
    CHECK_INT(rslot_of_command(2, bin, lens), rslot_of("a\0b", 3));
    CHECK_INT(cmd_slot(0, bin), -1);
}

static void sentinels_cover_every_range(void) {
    enum { K = 256 };
    char key[64], first[64] = "";
    int ok = 1;
    for (int j = 0; j < K; j++) {
        rslot_sentinel(j, K, key, sizeof(key));
        int s = slot(key);
        if (s < j * (RSLOT_COUNT / K) || s >= (j + 1) * (RSLOT_COUNT / K)) ok = 0;
        if (j == 0) snprintf(first, sizeof(first), "%s", key);
    }
    CHECK(ok);
    /* Its own hash tag, so the key's slot is the tag's. */
    CHECK(strncmp(first, "rk:{live.", 9) == 0);
    rslot_sentinel(0, K, key, sizeof(key));
    CHECK_STR(key, first);
    rslot_sentinel(0, 1, key, sizeof(key));
    CHECK_STR(key, "rk:{live.0}:live");
}

int main(void) {
    RUN(crc16_is_xmodem);
    RUN(plain_keys);
    RUN(hash_tags);
    RUN(empty_or_open_tags_hash_the_whole_key);
    RUN(binary_keys);
    RUN(first_key_of_commands);
    RUN(sentinels_cover_every_range);
    return CHECK_SUMMARY();
}
