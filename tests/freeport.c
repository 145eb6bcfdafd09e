/*
 * freeport: print free TCP ports on 127.0.0.1, one per line.
 *
 * The test scripts start Redis, PostgreSQL and rankd on ports chosen at run
 * time so that many test instances can run side by side.  The kernel picks
 * the ports (bind to port 0); all of them are held until every one has been
 * picked, so the ports printed by one call are distinct.
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
#include <unistd.h>

#define MAX_PORTS 64

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

        struct sockaddr_in addr;
        memset(&addr, 0, sizeof addr);
        addr.sin_family = AF_INET;
        addr.sin_port = htons(0);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
            fprintf(stderr, "freeport: bind: %s\n", strerror(errno));
            close(fd);
            rc = 1;
            break;
        }
        socklen_t len = sizeof addr;
        if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
            fprintf(stderr, "freeport: getsockname: %s\n", strerror(errno));
            close(fd);
            rc = 1;
            break;
        }
        ports[opened] = ntohs(addr.sin_port);
    }

    if (rc == 0) {
        for (long i = 0; i < n; i++) printf("%u\n", ports[i]);
        if (fflush(stdout) != 0) rc = 1;
    }
    for (long i = 0; i < opened; i++) close(fds[i]);
    return rc;
}
