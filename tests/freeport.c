/*
 * freeport: print free TCP ports on 127.0.0.1, one per line.
 *
 * The test scripts start Redis, PostgreSQL and rankd on ports chosen at run
 * time so that many test instances can run side by side. The ports are
 * drawn below the kernel's ephemeral range (ip_local_port_range): a port
 * the kernel may hand to any outgoing connection can be taken between a
 * test's stop and restart of a server (rankd once failed "Address in use"
 * that way, beside another test). Each is bound to check it is free, and
 * all are held until every one has been picked, so the ports printed by
 * one call are distinct. When no such port can be found the kernel picks
 * (bind to port 0), as before.
 *
 * usage: freeport [N]      (N defaults to 1, at most 64)
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 64
#define LOW_PORT 10000 /* below: well-known and registered services */
#define TRIES 200      /* random draws per port before the kernel picks */

/* The first port of the kernel's ephemeral range (32768 when unknown). */
static unsigned ephemeral_low(void) {
    unsigned lo = 32768, hi = 0;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2) lo = 32768;
        fclose(f);
    }
    return lo;
}

/* Binds fd to port on 127.0.0.1 (0: any); the port bound, or 0. */
static unsigned bind_port(int fd, unsigned port) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return 0;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0) return 0;
    return ntohs(addr.sin_port);
}

static int usage(void) {
    fprintf(stderr, "usage: freeport [N]   (1 <= N <= %d)\n", MAX_PORTS);
    return 2;
}

int main(int argc, char **argv) {
    long n = 1;
    if (argc > 2) return usage();
    if (argc == 2) {
        char *end = NULL;
        errno = 0;
        n = strtol(argv[1], &end, 10);
        if (errno != 0 || end == argv[1] || *end != '\0' || n < 1 || n > MAX_PORTS) return usage();
    }

    unsigned lo = ephemeral_low();
    int span = lo > LOW_PORT ? (int)(lo - LOW_PORT) : 0;
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    int fds[MAX_PORTS];
    unsigned ports[MAX_PORTS];
    int rc = 0;
    long opened = 0;

    for (; opened < n; opened++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            fprintf(stderr, "freeport: socket: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        fds[opened] = fd;

        unsigned port = 0;
        for (int t = 0; span > 0 && port == 0 && t < TRIES; t++)
            port = bind_port(fd, LOW_PORT + (unsigned)(rand() % span));
        if (port == 0) port = bind_port(fd, 0);
        if (port == 0) {
            fprintf(stderr, "freeport: bind: %s\n", strerror(errno));
            close(fd);
            rc = 1;
            break;
        }
        ports[opened] = port;
    }

    if (rc == 0) {
        for (long i = 0; i < n; i++) printf("%u\n", ports[i]);
        if (fflush(stdout) != 0) rc = 1;
    }
    for (long i = 0; i < opened; i++) close(fds[i]);
    return rc;
}
