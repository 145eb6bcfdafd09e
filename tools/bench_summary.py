#!/usr/bin/env python3
"""bench_summary.py - turns the files bench_inner.sh leaves in its output
directory into the table (or, with json=1, the one JSON object) that
tools/bench.sh prints.

usage: bench_summary.py DIR JSON(0|1)

Ratios are rankd / Redis for throughput (higher is better) and rankd /
Redis for p99 (lower is better); each comparison names its target from the
issue and says whether this run met it. Nothing is claimed that was not
measured in this run.
"""
import csv
import json
import os
import sys

d = sys.argv[1]
as_json = sys.argv[2] == "1"


def path(name):
    return os.path.join(d, name)


def kv(name):
    out = {}
    with open(path(name)) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            out[k] = v
    return out


def raw(name):
    with open(path("raw_%s.csv" % name)) as f:
        r = next(csv.DictReader(f))
    return {"rps": float(r["rps"]), "p50_ms": float(r["p50_latency_ms"]),
            "p99_ms": float(r["p99_latency_ms"]), "max_ms": float(r["max_latency_ms"])}


def raw_file(name):
    with open(path(name)) as f:
        r = next(csv.DictReader(f))
    return {"rps": float(r["rps"]), "p50_ms": float(r["p50_latency_ms"]), "p99_ms": float(r["p99_latency_ms"])}


def rb(name):
    with open(path("rb_%s.json" % name)) as f:
        j = json.load(f)
    return j


def rb_file(name):
    with open(path(name)) as f:
        return json.load(f)


machine = kv("machine")
r_fcall1, r_fcall32 = raw("fcall_p1"), raw("fcall_p32")
r_range1, r_range32 = raw("zrevrange_p1"), raw("zrevrange_p32")
r_rank1, r_rank32 = raw("zrevrank_p1"), raw("zrevrank_p32")


def short(argv):
    """FCALL_RO rk_top / HMGET rk:uids: the command and its function or first key."""
    return " ".join(argv[:2])


# What rankd sent Redis for one call of each kind, and each of those
# commands on its own through redis-benchmark.
calls = {}
for op in ("submit", "top", "rank"):
    with open(path("cmds_%s.json" % op)) as f:
        cmds = json.load(f)
    steps = []
    for i, argv in enumerate(cmds):
        step = {"command": short(argv)}
        if os.path.exists(path("raw_step_%s_%d.csv" % (op, i))):
            step.update(raw("step_%s_%d" % (op, i)))
        steps.append(step)
    calls[op] = {"redis_commands": len(cmds), "steps": steps}
with open(path("fcall_cmd")) as f:
    fcall_cmd = f.read().strip()
b_submit, b_batch, b_top, b_rank = rb("submit"), rb("batch"), rb("top"), rb("rank")


def rankd_side(j, per_score=False):
    rps = j["scores_per_s"] if per_score else j["throughput"]
    return {"rps": rps, "p50_ms": j["latency_us"]["p50"] / 1000.0, "p99_ms": j["latency_us"]["p99"] / 1000.0,
            "errors": j["errors"], "requests": j["requests"]}


def compare(name, rankd, redis_cmd, redis, tput_target, p99_target=2.0, per_call_p99=True):
    ratio = rankd["rps"] / redis["rps"] if redis["rps"] else 0.0
    p99_ratio = rankd["p99_ms"] / redis["p99_ms"] if redis["p99_ms"] else 0.0
    row = {"rankd_rps": round(rankd["rps"], 1), "rankd_p50_ms": round(rankd["p50_ms"], 3),
           "rankd_p99_ms": round(rankd["p99_ms"], 3), "rankd_errors": rankd["errors"],
           "redis_cmd": redis_cmd, "redis_rps": redis["rps"], "redis_p50_ms": redis["p50_ms"],
           "redis_p99_ms": redis["p99_ms"], "ratio": round(ratio, 3), "p99_ratio": round(p99_ratio, 2),
           "target_ratio": tput_target, "met": ratio >= tput_target}
    if per_call_p99:
        row["target_p99_ratio"] = p99_target
        row["p99_met"] = p99_ratio <= p99_target
    return name, row


ops = dict([
    compare("submit", rankd_side(b_submit), "FCALL rk_submit -P 1", r_fcall1, 1.0),
    # A batch call carries 100 scores: its p99 is per call, Redis's per
    # command, so only throughput (scores/s against FCALLs/s) compares.
    compare("batch_submit", rankd_side(b_batch, per_score=True), "FCALL rk_submit -P 32", r_fcall32, 0.8,
            per_call_p99=False),
    compare("top10", rankd_side(b_top), "ZREVRANGE key 0 9 WITHSCORES -P 1", r_range1, 1.0),
    compare("rank", rankd_side(b_rank), "ZREVRANK key member -P 1", r_rank1, 1.0),
])
ops["batch_submit"]["rankd_calls_per_s"] = round(b_batch["throughput"], 1)
ops["batch_submit"]["rankd_call_p99_ms"] = round(b_batch["latency_us"]["p99"] / 1000.0, 3)


# ------------------------------------------------------------------ request path
# Each rank-bench call against the --loops 0 rankd (before: every call on
# the worker pool), the main rankd (after) and rank-instant (fixed replies:
# the transport's ceiling), run one after the other, with each server's CPU
# time and context switches per request. Targets from the request-path
# issue, for the after side: reads >= 0.9x instant with p99 <= 2x; a single
# submit >= 0.7x instant, or >= 0.8x FCALL -P 32 where that is lower; the
# player-token submit within 10% of the API-key submit; a batch of 100
# >= 0.8x FCALL -P 32 in scores/s; at most 2 context switches per request.
PATH_CALLS = [("top10", "top"), ("rank", "rank"), ("rank_by_id", "rank_id"), ("around", "around"),
              ("around_by_id", "around_id"), ("ranks_of_10", "ranks"), ("count", "count"),
              ("submit", "submit"), ("submit_by_id", "submit_id"), ("submit_token", "psubmit"),
              ("batch_100", "batch"), ("batch_100_by_id", "batch_id")]
READS = ("top", "rank", "rank_id", "around", "around_id", "ranks", "count")
SWITCH_TARGET = 2.0


def server_use(j):
    s = j.get("server", {})
    return round(s.get("cpu_us_per_request", 0.0), 1), round(s.get("switches_per_request", 0.0), 2)


def side(j, scores):
    cpu, sw = server_use(j)
    return {"rps": round(j["scores_per_s"] if scores else j["throughput"], 1),
            "calls_per_s": round(j["throughput"], 1),
            "p99_ms": round(j["latency_us"]["p99"] / 1000.0, 3), "errors": j["errors"],
            "cpu_us_per_request": cpu, "switches_per_request": sw, "requests_seen": j.get("all_requests", 0)}


request_path = {}
for label, f in PATH_CALLS:
    scores = f in ("batch", "batch_id")
    bef, aft, ins = side(rb("before_" + f), scores), side(rb(f), scores), side(rb("instant_" + f), scores)
    row = {"op": f, "unit": "scores/s" if scores else "req/s", "before": bef, "after": aft, "instant": ins,
           "ratio": round(aft["rps"] / ins["rps"], 3) if ins["rps"] else 0.0,
           "p99_ratio": round(aft["p99_ms"] / ins["p99_ms"], 2) if ins["p99_ms"] else 0.0,
           "speedup": round(aft["rps"] / bef["rps"], 2) if bef["rps"] else 0.0}
    if f in ("submit", "submit_id", "psubmit", "batch", "batch_id"):
        row["redis_fcall_p32_rps"] = r_fcall32["rps"]
    if f in READS:
        row["target"] = ">=0.9x instant, p99 <=2x instant"
        row["met"] = row["ratio"] >= 0.9 and row["p99_ratio"] <= 2.0
    elif f in ("submit", "submit_id"):
        need = min(0.7 * ins["rps"], 0.8 * r_fcall32["rps"])
        row["target"] = ">=%.0f/s (0.7x instant or 0.8x FCALL -P 32, the lower)" % need
        row["need_rps"] = round(need, 1)
        row["met"] = aft["rps"] >= need
    elif f == "psubmit":
        row["target"] = ">=0.9x the API-key submit"
        api = request_path["submit"]["after"]["rps"]
        row["vs_api_key_submit"] = round(aft["rps"] / api, 3) if api else 0.0
        row["met"] = row["vs_api_key_submit"] >= 0.9
    else:
        row["target"] = ">=0.8x FCALL -P 32 in scores/s"
        row["vs_fcall_p32"] = round(aft["rps"] / r_fcall32["rps"], 3) if r_fcall32["rps"] else 0.0
        row["met"] = row["vs_fcall_p32"] >= 0.8
    row["switches_met"] = aft["switches_per_request"] <= SWITCH_TARGET
    request_path[label] = row

redis_raw = {"fcall_rk_submit_p1": r_fcall1, "fcall_rk_submit_p32": r_fcall32,
             "zrevrange_0_9_p1": r_range1, "zrevrange_0_9_p32": r_range32,
             "zrevrank_p1": r_rank1, "zrevrank_p32": r_rank32}

# Large board.
small1, large1 = rb_file("rank1_small.json"), rb_file("rank1_large.json")
zs1, zl1 = raw_file("zrevrank1_small.csv"), raw_file("zrevrank1_large.csv")
with open(path("memory")) as f:
    n_large, m0, m1, m2, m3, load_s = f.read().split()
n_large = int(n_large)
m0, m1, m2, m3 = int(m0), int(m1), int(m2), int(m3)
per_entry = (m1 - m0) / n_large
per_dir = (m2 - m1) / n_large
per_bare = (m3 - m2) / n_large
p50_small = small1["latency_us"]["p50"] / 1000.0
p50_large = large1["latency_us"]["p50"] / 1000.0
large = {"members": n_large, "load_s": round(float(load_s), 1),
         "rank_p50_ms_1000": round(p50_small, 3), "rank_p50_ms_large": round(p50_large, 3),
         "ratio": round(p50_large / p50_small, 3) if p50_small else 0.0, "target_ratio": 1.5,
         "small_errors": small1["errors"], "large_errors": large1["errors"],
         "redis_zrevrank_p50_ms_1000": zs1["p50_ms"], "redis_zrevrank_p50_ms_large": zl1["p50_ms"]}
large["met"] = large["ratio"] <= 1.5 and large["small_errors"] == 0 and large["large_errors"] == 0
memory = {"members": n_large, "bytes_per_entry_rankd": round(per_entry, 1),
          "bytes_per_member_bare_zset": round(per_bare, 1),
          "ratio": round(per_entry / per_bare, 3) if per_bare else 0.0, "target_ratio": 1.3,
          "directory_bytes_per_player": round(per_dir, 1)}
memory["met"] = memory["ratio"] <= 1.3

# Write-behind.
samples = []
with open(path("samples")) as f:
    for line in f:
        p = line.split(None, 4)
        try:
            samples.append((float(p[0]), int(p[1]), int(p[2]), int(p[3]), p[4].strip() if len(p) > 4 else ""))
        except (ValueError, IndexError):
            continue  # a sample taken while Redis answered BUSY
with open(path("wb_rows")) as f:
    tb0, tb1, tdrained, rows0, rows1 = f.read().split()
tb0, tb1, tdrained = float(tb0), float(tb1), float(tdrained)
rows = int(rows1) - int(rows0)
with open(path("drain_batch")) as f:
    _, drain_s, left = f.read().split()
with open(path("drain_raw")) as f:
    raw_backlog, raw_drain_s, raw_left = f.read().split()
raw_backlog, raw_drain_s = int(raw_backlog), float(raw_drain_s)
during = [s for s in samples if tb0 <= s[0] <= tb1]
with open(path("copy")) as f:
    ncopy, copy_s = f.read().split()
copy_rate = int(ncopy) / float(copy_s) if float(copy_s) > 0 else 0.0
# Capacity: the backlog redis-benchmark's FCALLs left, drained with nothing
# else running (the write-behind saturated, PostgreSQL to itself).
wb_rate = (raw_backlog - int(raw_left)) / raw_drain_s if raw_drain_s > 0 else 0.0
writebehind = {"peak_submit_scores_per_s": round(b_batch["scores_per_s"], 1),
               "max_backlog": max((s[2] for s in during), default=0),
               "max_lag_ms": max((s[3] for s in during), default=0),
               "drain_after_s": round(float(drain_s), 2), "left_after_drain": int(left),
               "rows_written_batch_phase": rows,
               "capacity_backlog": raw_backlog, "capacity_drain_s": round(raw_drain_s, 2),
               "ingest_rows_per_s": round(wb_rate, 1),
               "copy_rows": int(ncopy), "copy_rows_per_s": round(copy_rate, 1),
               "ingest_vs_copy": round(wb_rate / copy_rate, 3) if copy_rate else 0.0,
               "target_lag_ms": 1000, "target_vs_copy": 0.8}
writebehind["lag_met"] = writebehind["max_lag_ms"] < 1000
writebehind["copy_met"] = writebehind["ingest_vs_copy"] >= 0.8

rss = [s[1] for s in samples]
phases = []
for s in samples:
    if not phases or phases[-1]["phase"] != s[4]:
        phases.append({"phase": s[4], "rss_kb_first": s[1], "rss_kb_max": s[1]})
    phases[-1]["rss_kb_max"] = max(phases[-1]["rss_kb_max"], s[1])
    phases[-1]["rss_kb_last"] = s[1]
rss_info = {"samples": len(rss), "start_kb": rss[0] if rss else 0, "max_kb": max(rss) if rss else 0,
            "end_kb": rss[-1] if rss else 0, "seconds": round(samples[-1][0] - samples[0][0], 1) if samples else 0,
            "by_phase": phases}
if os.path.exists(path("rb_soak.json")):
    soak = [s for s in samples if s[4].startswith("soak")]
    rss_info["soak"] = {"seconds": round(soak[-1][0] - soak[0][0], 1) if soak else 0,
                        "first_kb": soak[0][1] if soak else 0, "last_kb": soak[-1][1] if soak else 0,
                        "max_kb": max((s[1] for s in soak), default=0),
                        "throughput": round(rb_file("rb_soak.json")["throughput"], 1)}

result = {
    "machine": {"nproc": int(machine["nproc"]), "cpu": machine["cpu"], "mem_mb": int(machine["mem_kb"]) // 1024,
                "redis": machine["redis"], "rankd_args": machine["rankd_args"],
                "before_args": machine.get("before_args", ""), "loops": machine.get("loops", "default"),
                "instant_contexts": int(machine.get("instant_contexts", "0") or 0),
                "token_players": int(machine.get("token_players", "0") or 0),
                "loadavg_start": machine.get("loadavg_start", ""), "loadavg_end": machine.get("loadavg_end", "")},
    "config": {"clients": int(machine["clients"]), "threads": int(machine["threads"]),
               "inflight": int(machine["inflight"]), "secs": float(machine["secs"]),
               "players": int(machine["players"])},
    "ops": ops, "request_path": request_path, "redis_raw": redis_raw, "rankd_redis_calls": calls, "fcall_rk_submit": fcall_cmd,
    "large_board": large, "memory": memory,
    "writebehind": writebehind, "rankd_rss": rss_info,
}

if as_json:
    print(json.dumps(result))
    sys.exit(0)

yes = lambda b: "met" if b else "MISSED"
c = result["config"]
print("rankd vs Redis, %d requests in flight (rank-bench %dx%d, redis-benchmark -c %d), %g s each, %d players"
      % (c["clients"], c["threads"], c["inflight"], c["clients"], c["secs"], c["players"]))
mc = result["machine"]
print("machine: %d cores, %s, %d MB; Redis %s; rankd %s; load average %s at start, %s at end" % (
    mc["nproc"], mc["cpu"], mc["mem_mb"], mc["redis"], mc["rankd_args"], mc["loadavg_start"], mc["loadavg_end"]))
print()
hdr = "%-13s %11s %9s | %-34s %11s %9s | %6s %6s | %s"
print(hdr % ("operation", "rankd /s", "p99 ms", "Redis equivalent", "Redis /s", "p99 ms", "ratio", "p99x", "target"))
print("-" * 132)
for name, o in ops.items():
    tgt = ">=%.1fx %s" % (o["target_ratio"], yes(o["met"]))
    if "target_p99_ratio" in o:
        tgt += "; p99<=%gx %s" % (o["target_p99_ratio"], yes(o["p99_met"]))
    label = name + (" (scores)" if name == "batch_submit" else "")
    print(hdr % (label[:13], "%.0f" % o["rankd_rps"], "%.3f" % o["rankd_p99_ms"], o["redis_cmd"],
                 "%.0f" % o["redis_rps"], "%.3f" % o["redis_p99_ms"], "%.2f" % o["ratio"], "%.2f" % o["p99_ratio"],
                 tgt))
print()
print("request path: rankd before (--loops 0) and after (--loops %s) against rank-instant (fixed replies,"
      " --contexts %d), the same rank-bench calls, the three one after the other per call;"
      " CPU and context switches of the server process per request (warm-up included)"
      % (mc["loops"], mc["instant_contexts"]))
hdr2 = "%-15s %8s %8s | %8s %8s | %8s %7s | %5s %5s %6s | %6s %6s | %6s %6s | %s"
print(hdr2 % ("call", "before", "p99 ms", "after", "p99 ms", "instant", "p99 ms", "a/i", "p99x", "a/b",
              "sw/req", "sw/req", "CPU us", "CPU us", "target (after)"))
print(hdr2 % ("", "/s", "", "/s", "", "/s", "", "", "", "", "before", "after", "before", "after", ""))
print("-" * 152)
for label, o in request_path.items():
    tgt = "%s %s" % (o["target"], yes(o["met"]))
    if "vs_api_key_submit" in o:
        tgt += " (%.2fx)" % o["vs_api_key_submit"]
    if "vs_fcall_p32" in o:
        tgt += " (%.2fx)" % o["vs_fcall_p32"]
    tgt += "; sw<=2 %s" % yes(o["switches_met"])
    b, a, i = o["before"], o["after"], o["instant"]
    print(hdr2 % (label, "%.0f" % b["rps"], "%.3f" % b["p99_ms"], "%.0f" % a["rps"], "%.3f" % a["p99_ms"],
                  "%.0f" % i["rps"], "%.3f" % i["p99_ms"], "%.2f" % o["ratio"], "%.2f" % o["p99_ratio"],
                  "%.2f" % o["speedup"], "%.2f" % b["switches_per_request"], "%.2f" % a["switches_per_request"],
                  "%.1f" % b["cpu_us_per_request"], "%.1f" % a["cpu_us_per_request"], tgt))
print("  (a/i: after / instant; a/b: after / before; batch_100: scores/s, p99 per call of 100; FCALL -P 32:"
      " %.0f/s; instant CPU %.1f-%.1f us and %.2f-%.2f switches per request; errors: before %d, after %d,"
      " instant %d in all)"
      % (r_fcall32["rps"], min(o["instant"]["cpu_us_per_request"] for o in request_path.values()),
         max(o["instant"]["cpu_us_per_request"] for o in request_path.values()),
         min(o["instant"]["switches_per_request"] for o in request_path.values()),
         max(o["instant"]["switches_per_request"] for o in request_path.values()),
         sum(o["before"]["errors"] for o in request_path.values()),
         sum(o["after"]["errors"] for o in request_path.values()),
         sum(o["instant"]["errors"] for o in request_path.values())))
print()
print("raw Redis at -c %d:" % c["clients"])
for k, v in redis_raw.items():
    print("  %-24s %10.0f req/s  p50 %6.3f ms  p99 %6.3f ms" % (k, v["rps"], v["p50_ms"], v["p99_ms"]))
print("  rankd batch calls: %.0f calls/s, p99 %.3f ms per call of 100"
      % (ops["batch_submit"]["rankd_calls_per_s"], ops["batch_submit"]["rankd_call_p99_ms"]))
print()
print("Redis commands rankd sends per call (each alone through redis-benchmark -c %d -P 1):" % c["clients"])
for op, info in calls.items():
    parts = []
    for st in info["steps"]:
        parts.append(st["command"] + (" (%.0f/s)" % st["rps"] if "rps" in st else ""))
    print("  %-7s %d: %s" % (op, info["redis_commands"], ", ".join(parts)))
print()
print("rank p50, one request in flight: %.3f ms on %d players, %.3f ms on %d (ratio %.2f, target <=1.5x %s);"
      % (large["rank_p50_ms_1000"], c["players"], large["rank_p50_ms_large"], large["members"], large["ratio"],
         yes(large["met"])))
print("  redis ZREVRANK p50 %.3f ms vs %.3f ms" % (large["redis_zrevrank_p50_ms_1000"],
                                                  large["redis_zrevrank_p50_ms_large"]))
print("Redis memory: %.1f B per (player, board, window) in rankd's layout vs %.1f B per bare sorted-set member"
      " (ratio %.2f, target <=1.3x %s); user directory %.1f B per player"
      % (memory["bytes_per_entry_rankd"], memory["bytes_per_member_bare_zset"], memory["ratio"], yes(memory["met"]),
         memory["directory_bytes_per_player"]))
w = writebehind
print("write-behind at %.0f scores/s: max backlog %d, max lag %d ms (target <1000 ms %s), drained %.2f s after;"
      % (w["peak_submit_scores_per_s"], w["max_backlog"], w["max_lag_ms"], yes(w["lag_met"]), w["drain_after_s"]))
print("  write-behind capacity %.0f rows/s (a backlog of %d drained in %.1f s) vs COPY %.0f rows/s"
      " (ratio %.2f, target >=0.8x %s)"
      % (w["ingest_rows_per_s"], w["capacity_backlog"], w["capacity_drain_s"], w["copy_rows_per_s"],
         w["ingest_vs_copy"], yes(w["copy_met"])))
print("rankd RSS: %d kB at start, %d kB max, %d kB at end over %.0f s (%d samples)"
      % (rss_info["start_kb"], rss_info["max_kb"], rss_info["end_kb"], rss_info["seconds"], rss_info["samples"]))
for p in phases:
    print("  %-40s first %7d kB  max %7d kB  last %7d kB" % (p["phase"][:40], p["rss_kb_first"], p["rss_kb_max"],
                                                            p["rss_kb_last"]))
if "soak" in rss_info:
    s = rss_info["soak"]
    print("soak %.0f s at %.0f req/s: RSS %d kB -> %d kB (max %d kB)" % (s["seconds"], s["throughput"], s["first_kb"],
                                                                       s["last_kb"], s["max_kb"]))
