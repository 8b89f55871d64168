#!/usr/bin/env python3
"""Test of `dfs-loadtest --report`: renders the HTML report of a short failover run and of a short
routing comparison, each against its own spawned cluster, and checks what a reader relies on.

For each report: the page is valid (balanced tags by Python's html.parser, and well-formed XML by
xml.etree), self-contained (no script, stylesheet, image or URL to fetch; headless Chromium opens it offline and
fetches nothing), has a latency CDF with one line per run, latency and throughput over time per run, and one
marker per applied `--fault` on each time chart at the time the JSON says it was applied. The JSON of
`--report-json` is checked too. Screenshots go to .build/test-artifacts/report/; --update-screenshots also copies
them into docs/screenshots/ for the README (taken with --demo on the release build: longer runs, two nodes killed in
turn; `DFS_BIN_DIR=.build/release scripts/browser-test.sh --report --demo --update-screenshots`).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path

from browser_test import ROOT, Page, start_browser, wait_for

ARTIFACTS = ROOT / ".build" / "test-artifacts" / "report"
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
SVG_NS = "{http://www.w3.org/2000/svg}"
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# (failover run length, its faults, each routing policy's run length): the quick one for CI, and --demo.
QUICK = ("14s", "kill:node-1@4s,start:node-1@9s", "6s")
DEMO = ("30s", "kill:node-1@6s,start:node-1@12s,kill:node-2@18s,start:node-2@24s", "20s")


class TagBalance(HTMLParser):
    """Fails on a closing tag that does not match the open one, and on tags left open at the end."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open = []
        self.problems = []

    def handle_starttag(self, tag, attributes):
        if tag not in VOID_ELEMENTS:
            self.open.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attributes):
        pass  # <meta/>, <path/>: opens and closes at once

    def handle_endtag(self, tag):
        if not self.open or self.open[-1][0] != tag:
            self.problems.append(f"</{tag}> at line {self.getpos()[0]} closes {self.open[-1] if self.open else 'nothing'}")
            return
        self.open.pop()

    def close(self):
        super().close()
        self.problems += [f"<{tag}> opened at line {position[0]} is never closed" for tag, position in self.open]


def run_loadtest(bin_dir, work, name, arguments):
    html, data = work / f"{name}.html", work / f"{name}.json"
    command = [str(bin_dir / "dfs-loadtest"), "--spawn-cluster", "--json", "--report", str(html), "--report-json", str(data), *arguments]
    print("$ " + " ".join(command[1:]), flush=True)
    started = time.monotonic()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600, env={**os.environ, "DFS_BIN_DIR": str(bin_dir)})
    if finished.returncode != 0:
        print(finished.stderr[-4000:], file=sys.stderr)
        raise AssertionError(f"dfs-loadtest exited with {finished.returncode}")
    print(f"  {time.monotonic() - started:.0f} s; stdout: {finished.stdout.strip()[:400]}")
    return html.read_text(), json.loads(data.read_text())


def check_page(text):
    """Valid and self-contained; returns the parsed XML tree."""
    balance = TagBalance()
    balance.feed(text)
    balance.close()
    assert not balance.problems, "unbalanced HTML: " + "; ".join(balance.problems[:5])
    # Well-formed XML as a whole (the doctype is not XML's business).
    tree = ElementTree.fromstring(re.sub(r"^<!DOCTYPE html>", "", text.lstrip()))
    assert tree.tag == "html", tree.tag
    external = [found for found in re.findall(r"https?://[^\s\"'<>]+", text) if found != "http://www.w3.org/2000/svg"]
    assert not external, f"the report refers to other addresses: {external[:5]}"
    for fetched in ["<script", "<link", "<img", " src=", "url(", "@import"]:
        assert fetched not in text, f"the report would fetch something: {fetched}"
    return tree


def classes(element):
    return set((element.get("class") or "").split())


def figures(tree, css_class):
    return [figure for figure in tree.iter("figure") if css_class in classes(figure)]


def lines_in(figure):
    return [path for path in figure.iter(SVG_NS + "path") if "line" in classes(path)]


def check_failover(text, data, planned_faults, run_seconds):
    tree = check_page(text)
    assert len(data["runs"]) == 1, data["runs"]
    run = data["runs"][0]
    faults = run["faults"]
    planned = [(entry.split("@")[0], float(entry.split("@")[1].rstrip("s"))) for entry in planned_faults.split(",")]
    assert [fault["planned"].split("@")[0] for fault in faults] == [name for name, _ in planned], faults
    assert all(fault["error"] is None for fault in faults), faults
    # Applied on time, or later when the fault before it (a start waits for the node to be healthy) took a while.
    for fault, (_, at) in zip(faults, planned):
        assert at - 0.1 <= fault["at_seconds"] < at + 5, (fault, at)
    summary = run["summary"]
    assert summary["mismatches"] == 0, summary
    assert summary["operations"] > 0 and len(run["timeline"]) >= run_seconds - 1, (summary["operations"], len(run["timeline"]))
    assert run["latency_percentiles"][-1]["percentile"] == 100
    cdf = figures(tree, "cdf")
    assert len(cdf) == 1 and len(lines_in(cdf[0])) == 1, "one CDF with one line"
    for chart_class in ["latency-over-time", "throughput-over-time"]:
        chart = figures(tree, chart_class)
        assert len(chart) == 1, chart_class
        assert len(lines_in(chart[0])) == 2, f"{chart_class}: two lines"
        markers = [group for group in chart[0].iter(SVG_NS + "g") if "fault-marker" in classes(group)]
        assert [marker.get("data-fault") for marker in markers] == [fault["planned"] for fault in faults], chart_class
        for marker, fault in zip(markers, faults):
            assert abs(float(marker.get("data-at-seconds")) - fault["at_seconds"]) < 0.001
            label = "".join(marker.find(SVG_NS + "text").itertext())
            assert label == f"{fault['action']} {fault['node']}", label
    print(f"  failover report: {summary['operations']} downloads, {summary['errors']} errors, {summary['mismatches']} mismatches, "
          f"p50 {summary['latency_ms'].get('p50')} ms, p99 {summary['latency_ms'].get('p99')} ms, faults at "
          + ", ".join(f"{fault['at_seconds']:.2f} s" for fault in faults))


def check_comparison(text, data):
    tree = check_page(text)
    labels = [run["label"] for run in data["runs"]]
    assert labels == ["latency, no impairment", "latency", "round-robin", "random"], labels
    cdf = figures(tree, "cdf")
    assert len(cdf) == 1, "one CDF for every policy"
    names = ["".join(path.find(SVG_NS + "title").itertext()) for path in lines_in(cdf[0])]
    assert names == labels, names
    ratios = tree.find(".//table[@id='ratios']")
    assert ratios is not None, "no ratio table"
    rows = ratios.findall("./tbody/tr")
    assert [row.find("td").text for row in rows] == labels, [row.find("td").text for row in rows]
    assert len(data["comparison"]["rows"]) == 4
    assert not [group for group in tree.iter(SVG_NS + "g") if "fault-marker" in classes(group)], "no faults, no markers"
    for row in data["comparison"]["rows"]:
        report = row["report"]
        print(f"  {row['label']:<24} p50 {report['latency_ms'].get('p50')} ms, p99 {report['latency_ms'].get('p99')} ms, "
              f"{report['ops_per_second']} ops/s, p99 vs latency {row['ratio_vs_latency'].get('p99')}")


def screenshots(driver, page, name):
    """Opens the report offline (no network at all), checks it fetched nothing, and photographs it."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    driver.get(page.as_uri())
    wait_for("the report's charts", lambda: driver.execute_script("return document.querySelectorAll('figure.chart svg').length") >= 3)
    fetched = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert not fetched, f"opening the report fetched {fetched}"
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"console errors: {errors}"
    Page(driver, ARTIFACTS).screenshot(name)
    cdf = driver.find_element("css selector", "figure.cdf")
    driver.execute_script("arguments[0].scrollIntoView()", cdf)
    cdf_path = ARTIFACTS / f"{name}-cdf.png"
    cdf.screenshot(str(cdf_path))
    print(f"screenshot {cdf_path.relative_to(ROOT)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", default=str(ROOT / ".build" / "debug"))
    parser.add_argument("--update-screenshots", action="store_true", help="also copy the screenshots into docs/screenshots/")
    parser.add_argument("--demo", action="store_true", help="the README's runs: 30 s of failover with two nodes killed in turn, 20 s per routing policy")
    arguments = parser.parse_args()
    failover_length, failover_faults, routing_length = DEMO if arguments.demo else QUICK
    bin_dir = Path(arguments.bin_dir)
    for binary in ["dfs-loadtest", "dfs-gateway", "dfs-node"]:
        if not (bin_dir / binary).exists():
            sys.exit(f"{bin_dir / binary} is missing: build first (scripts/swift.sh build)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="dfs-report-test."))
    passed = False
    driver = None
    try:
        # A failover demo: 1 MiB downloads while nodes are SIGKILLed and started again.
        failover_html, failover_data = run_loadtest(bin_dir, work, "failover", [
            "--workload", "download", "--size", "1MiB", "--concurrency", "2", "--duration", failover_length, "--seed-files", "4",
            "--fault", failover_faults])
        check_failover(failover_html, failover_data, failover_faults, int(failover_length.rstrip("s")))
        # The latency-routing benchmark: node-2 behind a 50 ms proxy, every policy on a fresh cluster.
        routing_html, routing_data = run_loadtest(bin_dir, work, "routing", [
            "--workload", "download", "--size", "64KiB", "--concurrency", "4", "--duration", routing_length, "--seed-files", "4",
            "--delay", "node-2=50ms", "--compare-routing"])
        check_comparison(routing_html, routing_data)
        for name in ["failover", "routing"]:
            shutil.copy(work / f"{name}.html", ARTIFACTS / f"{name}-report.html")
            shutil.copy(work / f"{name}.json", ARTIFACTS / f"{name}-report.json")
        driver = start_browser(work)
        screenshots(driver, ARTIFACTS / "failover-report.html", "failover-report")
        screenshots(driver, ARTIFACTS / "routing-report.html", "routing-report")
        passed = True
    finally:
        if driver is not None:
            driver.quit()
        if passed:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work} for inspection", file=sys.stderr)
    if arguments.update_screenshots:
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / "failover-report.png", README_SCREENSHOTS / "report-failover.png")
        shutil.copy(ARTIFACTS / "routing-report-cdf.png", README_SCREENSHOTS / "report-routing-cdf.png")
    print("report test passed")


if __name__ == "__main__":
    main()
