#!/usr/bin/env python3
"""bench_gen.py - Redis commands (RESP, for redis-cli --pipe) that load
synthetic players, so the benchmarks can measure boards of millions
without signing up millions of players.

  bench_gen.py rkload ZSET MHASH COUNT UIDBASE TS   rankd's own rk_load
      (server/store/rankd.lua, the rebuild's loader), 300 players a call:
      exactly the layout a rebuild writes for an all-time view.
  bench_gen.py bare ZSET COUNT UIDBASE              ZADD of the user ids
      alone: the plain sorted set rankd's per-member cost is compared with.

Player i (0 <= i < COUNT) has uid UIDBASE+i, score (i * 7919) % 1000000
and reached it at TS + i (us), so loads are repeatable.
"""
import sys

CHUNK = 300


def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def main():
    mode, w = sys.argv[1], sys.stdout.buffer
    if mode == "rkload":
        zset, mhash, count, base, ts = sys.argv[2], sys.argv[3], *map(int, sys.argv[4:7])
        for first in range(0, count, CHUNK):
            args = ["FCALL", "rk_load", 2, zset, mhash, 1]
            for i in range(first, min(count, first + CHUNK)):
                args += [base + i, (i * 7919) % 1000000, ts + i, ts + i]
            w.write(resp(args))
    elif mode == "bare":
        zset, count, base = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        for first in range(0, count, CHUNK):
            args = ["ZADD", zset]
            for i in range(first, min(count, first + CHUNK)):
                args += [(i * 7919) % 1000000, base + i]
            w.write(resp(args))
    else:
        sys.exit("bench_gen.py: unknown mode " + mode)


main()
