/* Login under attack: guesses are counted before their password is
 * checked, so parallel guesses gain nothing; repeated failures slow an
 * account and an address down, but never lock the owner (or the admin)
 * out for long; a wrong password costs the same for every account and for
 * none, hashes made with other scrypt parameters are upgraded at the next
 * login, and usernames differ by more than case.
 *
 * Each part speaks from its own loopback address (nng dials
 * "tcp://127.0.0.N;127.0.0.1:port"), so the address counts of one part
 * do not slow another. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define ACCOUNT_FREE 5   /* attempts on an account before any wait */
#define ACCOUNT_CAP_S 30 /* the longest wait of an account */
#define ADDRESS_FREE 50  /* failures from one address before any wait */

static rk_client *c;

/* A client whose connection comes from 127.0.0.<n>. */
static rk_client *client_from(int n) {
    const char *url = getenv("RANKD_URL");
    char from[128];
    rk_client *cl = NULL;
    rk_status st;
    if (url == NULL || strncmp(url, "tcp://", 6) != 0) return it_client();
    snprintf(from, sizeof(from), "tcp://127.0.0.%d;%s", n, url + 6);
    if (rk_client_open(&cl, from, &st) != RK_OK) {
        fprintf(stderr, "cannot dial from 127.0.0.%d: %s\n", n, st.message);
        exit(2);
    }
    return cl;
}

static int login(rk_client *cl, const char *user, const char *password, rk_status *st) {
    Rankd__LoginRequest req = RANKD__LOGIN_REQUEST__INIT;
    Rankd__LoginReply *rep = NULL;
    req.username = (char *)user;
    req.password = (char *)password;
    int rc = rk_auth_login(cl, &req, &rep, NULL, st);
    rk_reply_free(rep);
    return rc;
}

/* The seconds a RESOURCE_EXHAUSTED answer says to wait, or -1. */
static int retry_hint(const rk_status *st) {
    const char *p = strstr(st->message, "retry in ");
    int s;
    return p && sscanf(p, "retry in %d s", &s) == 1 ? s : -1;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The first line a shell command prints, or "" (out has cap bytes). */
static void run(const char *cmd, char *out, size_t cap) {
    out[0] = '\0';
    FILE *f = popen(cmd, "r");
    if (f == NULL) return;
    if (fgets(out, (int)cap, f) == NULL) out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    pclose(f);
}

static void redis(const char *args, char *out, size_t cap) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "redis-cli -p %s %s", getenv("RANKD_REDIS_PORT"), args);
    run(cmd, out, cap);
}

/* The scrypt N of a user's stored hash ("scrypt$N$r$p$salt$key"). */
static long hash_n(const char *user) {
    char cmd[512], out[64];
    snprintf(cmd, sizeof(cmd),
             "psql \"$RANKD_POSTGRES\" -Atc \"SELECT split_part(password_hash, '\\$', 2) FROM users "
             "WHERE username = '%s'\"",
             user);
    run(cmd, out, sizeof(out));
    return strtol(out, NULL, 10);
}

/* ---------------------------------------------------------------- parallel guesses */

typedef struct guess {
    pthread_t t;
    int code;
} guess;

static void *guess_once(void *arg) {
    guess *g = arg;
    rk_client *cl = client_from(3);
    rk_status st;
    g->code = login(cl, "target16", "a-wrong-guess", &st);
    rk_client_close(cl);
    return NULL;
}

static void parallel_guesses_get_at_most_the_free_checks(void) {
    CHECK(it_sign_up(c, "target16", "target16-password") > 0);
    guess g[16];
    for (int i = 0; i < 16; i++) pthread_create(&g[i].t, NULL, guess_once, &g[i]);
    int checked = 0, refused = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(g[i].t, NULL);
        checked += g[i].code == RK_UNAUTHENTICATED;
        refused += g[i].code == RK_RESOURCE_EXHAUSTED;
    }
    fprintf(stderr, "  16 parallel guesses: %d checked, %d refused\n", checked, refused);
    CHECK(checked <= ACCOUNT_FREE);
    CHECK_INT(checked + refused, 16);
}

/* ---------------------------------------------------------------- the owner gets in */

/* Logs in with the right password, waiting as told (at most the cap
 * each time, and a bounded number of times). */
static int owner_login(rk_client *cl, const char *user, const char *password) {
    rk_status st;
    for (int i = 0; i < 4; i++) {
        int rc = login(cl, user, password, &st);
        if (rc != RK_RESOURCE_EXHAUSTED) {
            if (rc != RK_OK) fprintf(stderr, "  %s: %s: %s\n", user, rk_code_name(rc), st.message);
            return rc;
        }
        int hint = retry_hint(&st);
        CHECK(hint >= 1 && hint <= ACCOUNT_CAP_S);
        /* The same as a number: at most the words' whole seconds. */
        CHECK(st.retry_after_ms > (hint - 1) * 1000LL && st.retry_after_ms <= hint * 1000LL);
        if (hint < 1 || hint > ACCOUNT_CAP_S) return rc;
        sleep((unsigned)hint);
    }
    return RK_RESOURCE_EXHAUSTED;
}

static void owner_gets_in_after_a_bounded_delay(void) {
    CHECK(it_sign_up(c, "owner1", "owner1-password") > 0);
    rk_client *attacker = client_from(4), *owner = client_from(5);
    rk_status st;
    /* Five seconds of guessing as fast as rankd answers. */
    int checked = 0, long_waits = 0, other = 0;
    for (double end = now_ms() + 5000; now_ms() < end;) {
        int rc = login(attacker, "owner1", "a-wrong-guess", &st);
        checked += rc == RK_UNAUTHENTICATED;
        if (rc == RK_RESOURCE_EXHAUSTED) {
            int hint = retry_hint(&st);
            long_waits += hint < 1 || hint > ACCOUNT_CAP_S;
        } else {
            other += rc != RK_UNAUTHENTICATED;
        }
    }
    CHECK_INT(long_waits, 0);
    CHECK_INT(other, 0);
    /* The free five, then one after 1 s, 2 s (and perhaps 4 s). */
    fprintf(stderr, "  5 s of guessing: %d checked\n", checked);
    CHECK(checked <= ACCOUNT_FREE + 3);
    /* From another address, after the delay the account asks for. */
    CHECK_INT(owner_login(owner, "owner1", "owner1-password"), RK_OK);
    /* The right password started the account afresh: the next failures
     * are free again, even from the guessing address. */
    CHECK_INT(login(attacker, "owner1", "a-wrong-guess", &st), RK_UNAUTHENTICATED);
    CHECK_INT(owner_login(attacker, "owner1", "owner1-password"), RK_OK);
    rk_client_close(attacker);
    rk_client_close(owner);
}

/* An address that tries many accounts is slowed down as a whole; another
 * address is not. */
static void one_address_spraying_accounts_slows_only_itself(void) {
    CHECK(it_sign_up(c, "sprayed", "sprayed-password") > 0);
    rk_client *sprayer = client_from(6), *owner = client_from(7);
    rk_status st;
    int checked = 0, refused = 0;
    for (int i = 0; i < ADDRESS_FREE + 10; i++) {
        char user[32];
        snprintf(user, sizeof(user), "spray-%d", i);
        int rc = login(sprayer, user, "a-wrong-guess", &st);
        checked += rc == RK_UNAUTHENTICATED;
        refused += rc == RK_RESOURCE_EXHAUSTED;
    }
    fprintf(stderr, "  %d accounts tried from one address: %d checked\n", ADDRESS_FREE + 10, checked);
    CHECK(checked <= ADDRESS_FREE + 1);
    CHECK(refused >= 9);
    CHECK_INT(login(sprayer, "sprayed", "sprayed-password", &st), RK_RESOURCE_EXHAUSTED);
    CHECK_INT(login(owner, "sprayed", "sprayed-password", &st), RK_OK);
    rk_client_close(sprayer);
    rk_client_close(owner);
}

/* Nobody locks the admin out for minutes: however long the guessing has
 * gone on (here the account's count as after hours of it), the wait is
 * at most the cap, and the right password works after it. */
static void the_admin_cannot_be_locked_out(void) {
    rk_client *attacker = client_from(8), *admin = client_from(9);
    const char *user = getenv("RANKD_ADMIN_USER"), *password = getenv("RANKD_ADMIN_PASSWORD");
    rk_status st;
    for (int i = 0; i < 12; i++) login(attacker, user, "a-wrong-guess", &st);
    CHECK_INT(login(attacker, user, "a-wrong-guess", &st), RK_RESOURCE_EXHAUSTED);
    int hint = retry_hint(&st);
    CHECK(hint >= 1 && hint <= ACCOUNT_CAP_S);

    /* A thousand failures, the last of them 27 s ago. */
    struct timeval tv;
    char args[256], out[64];
    gettimeofday(&tv, NULL);
    snprintf(args, sizeof(args), "HSET 'rk:{login}:u:%s' n 1000 t %lld", user,
             (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000 - 27000);
    redis(args, out, sizeof(out));
    CHECK_INT(login(admin, user, password, &st), RK_RESOURCE_EXHAUSTED);
    hint = retry_hint(&st);
    fprintf(stderr, "  after a thousand failures the admin waits %d s\n", hint);
    CHECK(hint >= 1 && hint <= ACCOUNT_CAP_S - 27 + 1);
    CHECK_INT(owner_login(admin, user, password), RK_OK);
    rk_client_close(attacker);
    rk_client_close(admin);
}

/* ---------------------------------------------------------------- timing and hashes */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

#define TRIES 20

static void wrong_passwords_cost_the_same_for_every_account(void) {
    /* An account made by a rankd with another --scrypt-n (the harness's
     * runs with 1024). */
    it_rankd old;
    CHECK_INT(it_rankd_spawn(&old, "old-cost", "--scrypt-n=16384"), 0);
    if (old.pid <= 0) return;
    CHECK(it_sign_up(old.client, "oldhash", "oldhash-password") > 0);
    CHECK_INT(it_rankd_stop(&old), 0);
    CHECK_INT(hash_n("oldhash"), 16384);

    /* The owner logs in: the hash is made again at today's cost. */
    rk_client *a = client_from(10), *b = client_from(11);
    rk_status st;
    CHECK_INT(login(a, "oldhash", "oldhash-password", &st), RK_OK);
    CHECK_INT(hash_n("oldhash"), 1024);

    /* Now a wrong password for it costs what one for nobody costs. The
     * right password every few tries keeps the account below its wait. */
    double known[TRIES], unknown[TRIES];
    for (int i = 0; i < TRIES; i++) {
        if (i % 4 == 3) CHECK_INT(login(a, "oldhash", "oldhash-password", &st), RK_OK);
        double t0 = now_ms();
        CHECK_INT(login(a, "oldhash", "a-wrong-guess", &st), RK_UNAUTHENTICATED);
        known[i] = now_ms() - t0;
        char ghost[32];
        snprintf(ghost, sizeof(ghost), "ghost-%d", i);
        t0 = now_ms();
        CHECK_INT(login(b, ghost, "a-wrong-guess", &st), RK_UNAUTHENTICATED);
        unknown[i] = now_ms() - t0;
    }
    double mk = median(known, TRIES), mu = median(unknown, TRIES);
    fprintf(stderr, "  median wrong password: %.1f ms for the account, %.1f ms for nobody\n", mk, mu);
    CHECK(mk < 3 * mu && mu < 3 * mk);
    rk_client_close(a);
    rk_client_close(b);
}

/* ---------------------------------------------------------------- names */

static void usernames_differ_by_more_than_case(void) {
    Rankd__SignUpRequest req = RANKD__SIGN_UP_REQUEST__INIT;
    Rankd__SignUpReply *rep = NULL;
    rk_status st;
    CHECK(it_sign_up(c, "casey", "casey-password") > 0);
    req.username = "Casey";
    req.password = "another-password";
    CHECK_INT(rk_auth_sign_up(c, &req, &rep, NULL, &st), RK_ALREADY_EXISTS);
    rk_reply_free(rep);
    rep = NULL;
    req.username = "CASEY";
    CHECK_INT(rk_auth_sign_up(c, &req, &rep, NULL, &st), RK_ALREADY_EXISTS);
    rk_reply_free(rep);
}

int main(void) {
    c = it_client();
    RUN(parallel_guesses_get_at_most_the_free_checks);
    RUN(owner_gets_in_after_a_bounded_delay);
    RUN(one_address_spraying_accounts_slows_only_itself);
    RUN(the_admin_cannot_be_locked_out);
    RUN(wrong_passwords_cost_the_same_for_every_account);
    RUN(usernames_differ_by_more_than_case);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
