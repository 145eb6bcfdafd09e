#!/usr/bin/env python3
"""bench_monitor.py - reads what rankd sent to Redis (captured with
redis-cli MONITOR while rank-bench made one call), so tools/bench.sh
compares against exactly the commands rankd sends, whatever the current
version of server/store/store_redis.c and server/store/rankd.lua passes.

usage:
  bench_monitor.py commands FILE      one JSON list of the client commands
                                      (argv lists), background ones left out
  bench_monitor.py argv FILE I        command I (0-based) of `commands`, as
                                      NUL-separated arguments
  bench_monitor.py submit FILE BOARD  the FCALL rk_submit rankd sent, as
                                      NUL-separated arguments for
                                      redis-benchmark: the user id and score
                                      become __rand_int__, and the board
                                      becomes BOARD (so the raw run has a
                                      board of its own)
"""
import json
import re
import sys

TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"')
# Commands rankd's background threads send on their own schedule.
BACKGROUND = {"XREADGROUP", "XACK", "XDEL", "XAUTOCLAIM", "XPENDING", "XINFO", "XGROUP", "PING", "INFO",
              "XLEN", "XRANGE", "MONITOR", "FUNCTION", "SUBSCRIBE", "PUBLISH"}
# Redis functions those threads call (the write-behind's trim).
BACKGROUND_FCALL = {"rk_wb_trim"}


def unescape(s):
    out, i = [], 0
    simple = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", '"': '"', "\\": "\\"}
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x" and i + 3 < len(s):
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 4
                continue
            out.append(simple.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def commands(path):
    cmds = []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^[0-9.]+ \[\d+ ([^\]]+)\] (.*)$", line.strip())
            if not m or m.group(1) == "lua":
                continue
            argv = [unescape(t) for t in TOKEN.findall(m.group(2))]
            if not argv or argv[0].upper() in BACKGROUND:
                continue
            if argv[0].upper() == "FCALL" and len(argv) > 1 and argv[1] in BACKGROUND_FCALL:
                continue
            cmds.append(argv)
    return cmds


def submit_args(path, board):
    for argv in commands(path):
        if len(argv) > 3 and argv[0].upper() == "FCALL" and argv[1] == "rk_submit":
            nkeys = int(argv[2])
            keys = argv[3:3 + nkeys]
            args = argv[3 + nkeys:]
            old = None
            for k in keys:
                m = re.search(r"\{([^}]*)\}", k)
                if m and m.group(1) != "global":
                    old = m.group(1)
                    break
            keys = [k.replace("{%s}" % old, "{%s}" % board) if old else k for k in keys]
            args = ["__rand_int__", "__rand_int__"] + [board if a == old else a for a in args[2:]]
            return argv[:3] + keys + args
    return None


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "commands":
        print(json.dumps(commands(path)))
    elif mode == "argv":
        cmds = commands(path)
        i = int(sys.argv[3])
        if i >= len(cmds):
            sys.exit("no command %d in %s" % (i, path))
        sys.stdout.write("\0".join(cmds[i]) + "\0")
    elif mode == "submit":
        a = submit_args(path, sys.argv[3])
        if a is None:
            sys.exit("no FCALL rk_submit in " + path)
        sys.stdout.write("\0".join(a) + "\0")
    else:
        sys.exit("unknown mode " + mode)
