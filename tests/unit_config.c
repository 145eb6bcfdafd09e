/* The settings table as an operator meets it: "did you mean" hints for
 * unknown keys and flags, the action flags (--check-config FILE,
 * --print-config, --version), and the printed rankd.conf reading back to
 * exactly the defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

static void nearest_words(void) {
    const char *const words[] = {"listen", "redis", "postgres", "workers", "log-level", "top-n", "top-cache-ms"};
    size_t n = sizeof(words) / sizeof(words[0]);
    CHECK_STR(config_nearest("lisen", 5, words, n), "listen");        /* a letter left out */
    CHECK_STR(config_nearest("workres", 7, words, n), "workers");     /* two letters swapped */
    CHECK_STR(config_nearest("postgress", 9, words, n), "postgres");  /* one too many */
    CHECK_STR(config_nearest("log_level", 9, words, n), "log-level"); /* the environment's spelling */
    CHECK_STR(config_nearest("top-cache", 9, words, n), "top-cache-ms");
    CHECK(config_nearest("zzzzzz", 6, words, n) == NULL); /* nothing like it: no guess */
    CHECK(config_nearest("ab", 2, words, n) == NULL);
    CHECK(config_nearest("", 0, words, n) == NULL);
}

static int read_text(config *cfg, const char *text, rk_status *st) {
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    if (f == NULL) return rk_status_set(st, RK_INTERNAL, "fmemopen failed");
    int rc = config_read(cfg, f, "test.conf", st);
    fclose(f);
    return rc;
}

static void unknown_key_in_a_file(void) {
    config cfg;
    rk_status st;
    CHECK_INT(config_defaults(&cfg, &st), RK_OK);
    CHECK_INT(read_text(&cfg, "# a comment\n\nworkers = 4\nredis-conections = 3\n", &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "test.conf:4: unknown setting redis-conections; did you mean redis-connections?");
    CHECK_INT(cfg.workers, 4); /* lines before the bad one were read */
    CHECK_INT(read_text(&cfg, "qqqq = 1\n", &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "test.conf:1: unknown setting qqqq");
}

static void unknown_flag(void) {
    config cfg;
    rk_status st;
    char *typo[] = {"rankd", "--wokers", "4", NULL};
    CHECK_INT(config_load(&cfg, 3, typo, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "unknown flag --wokers; did you mean --workers? (see --help)");
    char *action[] = {"rankd", "--print-conifg", NULL};
    CHECK_INT(config_load(&cfg, 2, action, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "unknown flag --print-conifg; did you mean --print-config? (see --help)");
    char *with_value[] = {"rankd", "--lsiten=tcp://127.0.0.1:1", NULL};
    CHECK_INT(config_load(&cfg, 2, with_value, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "unknown flag --lsiten; did you mean --listen? (see --help)");
}

static void action_flags(void) {
    config cfg;
    rk_status st;
    char path[] = "/tmp/unit_config.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("workers = 5\n", f);
    fclose(f);

    char *serve[] = {"rankd", NULL};
    CHECK_INT(config_load(&cfg, 1, serve, &st), RK_OK);
    CHECK_INT(cfg.action, CONFIG_SERVE);
    CHECK_STR(cfg.file, "");

    /* --check-config FILE reads FILE as the config file, and flags after it still count. */
    char *check[] = {"rankd", "--check-config", path, "--redis", "10.0.0.1:1", NULL};
    CHECK_INT(config_load(&cfg, 5, check, &st), RK_OK);
    CHECK_INT(cfg.action, CONFIG_CHECK);
    CHECK_STR(cfg.file, path);
    CHECK_INT(cfg.workers, 5);
    CHECK_STR(cfg.redis, "10.0.0.1:1");

    /* Without a FILE it checks what --config (or nothing) gives. */
    char *check_bare[] = {"rankd", "--config", path, "--check-config", NULL};
    CHECK_INT(config_load(&cfg, 4, check_bare, &st), RK_OK);
    CHECK_INT(cfg.action, CONFIG_CHECK);
    CHECK_INT(cfg.workers, 5);

    char *version[] = {"rankd", "--version", NULL};
    CHECK_INT(config_load(&cfg, 2, version, &st), RK_OK);
    CHECK_INT(cfg.action, CONFIG_VERSION);
    char *print[] = {"rankd", "--print-config", NULL};
    CHECK_INT(config_load(&cfg, 2, print, &st), RK_OK);
    CHECK_INT(cfg.action, CONFIG_PRINT);
    char *help_wins[] = {"rankd", "--help", "--version", NULL};
    CHECK_INT(config_load(&cfg, 3, help_wins, &st), RK_OK);
    CHECK_INT(cfg.action, CONFIG_HELP);
    char *valued[] = {"rankd", "--version=2", NULL};
    CHECK_INT(config_load(&cfg, 2, valued, &st), RK_INVALID_ARGUMENT);
    CHECK_STR(st.message, "flag --version takes no value");
    unlink(path);
}

/* The printed file names every setting once, commented out at its
 * default: uncommented, it reads back to exactly the defaults. */
static void printed_file_reads_back_to_the_defaults(void) {
    config defaults, cfg;
    rk_status st;
    char *text = NULL, *active = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    config_print(out);
    fclose(out);

    /* "#key = value" lines become "key = value"; the prose stays comments. */
    active = calloc(1, len + 1);
    size_t settings = 0, j = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && memchr(line, '=', n)) {
            memcpy(active + j, line + 1, n - 1);
            j += n - 1;
            settings++;
        } else {
            memcpy(active + j, line, n);
            j += n;
        }
        line += n;
    }
    CHECK_INT(config_defaults(&defaults, &st), RK_OK);
    CHECK_INT(config_defaults(&cfg, &st), RK_OK);
    CHECK_INT(read_text(&cfg, active, &st), RK_OK);
    CHECK(memcmp(&cfg, &defaults, sizeof(cfg)) == 0);
    CHECK(settings >= 30);
    CHECK(strstr(text, "\n#workers = 16\n") != NULL);
    CHECK(strstr(text, "\n# an integer in 1..256; env RANKD_WORKERS\n") != NULL);
    CHECK(strstr(text, "\n#token-secret =\n") != NULL);

    /* Every line fits 80 columns, and none ends in a space. */
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (n > 80 || (n > 0 && line[n - 1] == ' ')) {
            fprintf(stderr, "  bad line: %.*s\n", (int)n, line);
            CHECK(0);
        }
        line += n + (nl ? 1 : 0);
    }
    free(active);
    free(text);
}

int main(void) {
    RUN(nearest_words);
    RUN(unknown_key_in_a_file);
    RUN(unknown_flag);
    RUN(action_flags);
    RUN(printed_file_reads_back_to_the_defaults);
    return CHECK_SUMMARY();
}
