#!/usr/bin/env python3
"""monitoring_metrics.py - every metric the alert rules and the dashboard
name is one rankd exports.

usage: monitoring_metrics.py METRICS_TEXT RULES_YML DASHBOARD_JSON

METRICS_TEXT is a scrape of a running rankd's /metrics. A name counts as
exported when /metrics declares it (# TYPE; a histogram's _bucket, _sum and
_count with it). Every PromQL expression (the rules' expr, the dashboard's
targets and its variables' queries) must name at least one rankd metric,
or be Prometheus's own up{job="rankd"}; and every label matched in a
selector of a rankd metric must be one that metric has in the scrape (le
for buckets), so a renamed label fails too. Prints one "ok - ..." or
"not ok - ..." line per expression; exits 1 when any fails.
"""
import json
import re
import sys

import yaml

PROMETHEUS_OWN = {"up"}  # series Prometheus makes itself, not rankd
TARGET_LABELS = {"instance", "job"}  # labels Prometheus adds to every scraped series
IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
SELECTOR = re.compile(r"\b(rankd_[a-z0-9_]+)\s*\{([^}]*)\}")
LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)")


def exported(text):
    """names -> set of label names seen on their samples"""
    names = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            names.setdefault(name, set())
            if kind.strip() == "histogram":
                for suffix in ("_bucket", "_sum", "_count"):
                    names.setdefault(name + suffix, set())
        elif line and not line.startswith("#"):
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?", line)
            labels = set(LABEL.findall(m.group(3) or ""))
            names.setdefault(m.group(1), set()).update(k for k, _ in labels)
    return names


def strip_strings(expr):
    # Label values and Grafana's $variables are not metric names.
    expr = re.sub(r'"(\\.|[^"\\])*"', '""', expr)
    return re.sub(r"\$\{?[a-zA-Z_]+\}?", "", expr)


def metric_names(expr):
    """rankd_ identifiers, and up when used as a selector"""
    bare = strip_strings(expr)
    names = {n for n in IDENT.findall(bare) if n.startswith("rankd_")}
    if re.search(r"(^|[^a-zA-Z0-9_])up\s*\{", bare):
        names.add("up")
    return names


def dashboard_exprs(node, where="dashboard"):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" and isinstance(v, str):
                yield where, v
            elif k in ("query", "definition") and isinstance(v, str) and "(" in v:
                yield where, v
            else:
                title = node.get("title") or node.get("name") or where
                yield from dashboard_exprs(v, title if isinstance(title, str) else where)
    elif isinstance(node, list):
        for v in node:
            yield from dashboard_exprs(v, where)


def main():
    text, rules_path, dash_path = sys.argv[1:4]
    have = exported(open(text).read())
    exprs = []
    for group in yaml.safe_load(open(rules_path))["groups"]:
        for rule in group["rules"]:
            exprs.append(("rule " + rule.get("alert", rule.get("record", "?")), rule["expr"]))
    exprs += [("panel " + w, e) for w, e in dashboard_exprs(json.load(open(dash_path)))]
    if len(exprs) < 10:
        print("not ok - only %d expressions found in the rules and the dashboard" % len(exprs))
        return 1
    failed = 0
    for where, expr in exprs:
        names = metric_names(expr)
        why = []
        if not names & (set(have) | PROMETHEUS_OWN) or not (names - PROMETHEUS_OWN or 'job="rankd"' in expr):
            why.append("names no rankd metric")
        why += ["%s is not exported" % n for n in sorted(names - set(have) - PROMETHEUS_OWN)]
        for name, inner in SELECTOR.findall(strip_strings(expr).replace('""', '"x"')):
            if name not in have:
                continue
            for label, _ in LABEL.findall(inner):
                if label not in have[name] and label not in TARGET_LABELS:
                    why.append("%s has no label %s" % (name, label))
        one = " ".join(expr.split())
        if why:
            failed += 1
            print("not ok - %s: %s (%s)" % (where, "; ".join(why), one))
        else:
            print("ok - %s: %s" % (where, ", ".join(sorted(names))))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
