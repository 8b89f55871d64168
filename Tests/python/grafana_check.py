#!/usr/bin/env python3
"""Checks the Grafana dashboard in docs/grafana/ against the gateway's metrics (run by scripts/test.sh).

Loads the dashboard JSON and checks that every query names metrics the gateway exports, with the series suffixes
its type has (`_bucket`, `_sum`, `_count` for histograms only), that every label a query selects or groups by
belongs to one of those metrics (or is `le` of a histogram, or Prometheus' own `instance`/`job`), and that every
metric family appears in at least one panel. The metrics come from the README's Metrics table (a Swift test keeps
that table equal to `GatewayMetrics.declarations`), or with --metrics-url from a live gateway's `/metrics`.
Standard library only.
"""

import argparse
import json
import re
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_LABELS = {"instance", "job"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# PromQL words that look like identifiers but are not metrics or labels.
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}


def families_from_readme(readme):
    """name → (type, labels) from the '## Metrics' table: | `name` | type | labels | meaning |"""
    section = readme.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    families = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*`(dfs_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram)\s*\|([^|]*)\|", line)
        if match:
            labels = {label.strip() for label in match.group(3).split(",") if label.strip()}
            families[match.group(1)] = (match.group(2), labels)
    return families


def families_from_scrape(text):
    """name → (type, labels) from Prometheus text: `# TYPE` lines and the labels of each family's samples."""
    families = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            families[name] = (kind.strip(), set())
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
        if not match:
            continue
        name = match.group(1)
        family = next((f for f in families if name == f or (families[f][0] == "histogram" and name in [f + s for s in HISTOGRAM_SUFFIXES])), None)
        if family and match.group(3):
            families[family][1].update(pair.split("=", 1)[0] for pair in re.findall(r'[a-zA-Z_][a-zA-Z0-9_]*="', match.group(3)))
    for kind, labels in families.values():
        labels.discard("le")
    return families


def series_names(families):
    """Every series name a query may use → (family, is_bucket)."""
    names = {}
    for family, (kind, _) in families.items():
        if kind == "histogram":
            for suffix in HISTOGRAM_SUFFIXES:
                names[family + suffix] = (family, suffix == "_bucket")
        else:
            names[family] = (family, False)
    return names


def queries(dashboard):
    """(panel title, expr) of every target, rows' nested panels included."""
    found = []

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if "expr" in target:
                    found.append((panel.get("title", "?"), target["expr"]))
            walk(panel.get("panels", []))

    walk(dashboard.get("panels", []))
    return found


def check(dashboard, families):
    problems = []
    names = series_names(families)
    used = set()
    for title, expr in queries(dashboard):
        without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
        metrics = set(re.findall(r"\bdfs_[a-zA-Z0-9_]+\b", without_strings))
        if not metrics:
            problems.append(f"{title}: no dfs_ metric in {expr!r}")
        allowed = set(PROMETHEUS_LABELS)
        for metric in metrics:
            if metric not in names:
                kind = families.get(metric, (None,))[0]
                hint = " (a histogram: use _bucket, _sum or _count)" if kind == "histogram" else ""
                problems.append(f"{title}: {metric} is not a series the gateway exports{hint}")
                continue
            family, is_bucket = names[metric]
            used.add(family)
            allowed |= families[family][1]
            if is_bucket:
                allowed.add("le")
        if "histogram_quantile" in expr and not any(m.endswith("_bucket") for m in metrics):
            problems.append(f"{title}: histogram_quantile without a _bucket series: {expr!r}")
        selected = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"", expr))
        grouped = {label.strip() for clause in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr) for label in clause.split(",") if label.strip()}
        for label in sorted((selected | grouped) - allowed - PROMQL_WORDS):
            problems.append(f"{title}: label {label!r} belongs to none of {sorted(metrics)}")
    for family in sorted(set(families) - used):
        problems.append(f"no panel shows {family}")
    datasources = {json.dumps(panel.get("datasource"), sort_keys=True) for panel in dashboard.get("panels", []) if panel.get("type") != "row"}
    if len(datasources) != 1:
        problems.append(f"panels use several datasources: {sorted(datasources)}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dashboard", default=str(ROOT / "docs" / "grafana" / "swiftdfs.json"))
    parser.add_argument("--metrics-url", help="take the metric families from a live gateway's /metrics instead of the README")
    parser.add_argument("--api-key", help="bearer key for --metrics-url when the gateway has keys on")
    arguments = parser.parse_args()
    dashboard = json.loads(Path(arguments.dashboard).read_text())
    if arguments.metrics_url:
        request = urllib.request.Request(arguments.metrics_url)
        if arguments.api_key:
            request.add_header("Authorization", f"Bearer {arguments.api_key}")
        with urllib.request.urlopen(request, timeout=10) as response:
            families = families_from_scrape(response.read().decode())
        source = arguments.metrics_url
    else:
        families = families_from_readme((ROOT / "README.md").read_text())
        source = "README.md's Metrics table"
    families = {name: value for name, value in families.items() if name.startswith("dfs_")}
    if len(families) < 10:
        sys.exit(f"only {len(families)} dfs_ metric families found in {source}: is the table there?")
    problems = check(dashboard, families)
    count = len(queries(dashboard))
    if problems:
        print(f"{arguments.dashboard}: {len(problems)} problem(s) against {source}:", *problems, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print(f"grafana dashboard: {count} queries name only exported metrics and labels; all {len(families)} families shown ({source})")


if __name__ == "__main__":
    main()
