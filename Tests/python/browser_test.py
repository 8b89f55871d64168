#!/usr/bin/env python3
"""Browser test of the gateway's dashboard, in headless Chromium driven by Selenium.

Starts `dfs up` (the built debug binaries) on loopback ports picked free at run time and checks, without ever
reloading the page: it loads with no console errors; a dropped file shows upload progress, then appears in the
list with 3 verified replicas; a stopped node (SIGSTOP) turns DOWN on the page within one probe interval of the
gateway noticing, and a file uploaded meanwhile shows PENDING items for it in the queue view; after SIGCONT,
"recover" leaves none; the picker uploads too; download gives the same bytes; an object put through the S3 API is
listed under its s3:// name; delete (confirmed) removes the file. It also measures what an open dashboard costs the gateway (requests/s, CPU). Last, under a load of
downloads and uploads, a freshly opened page shows the last minutes in its charts at once, and a node killed with
SIGKILL is shaded DOWN in its charts and its request rate falls to zero, without a reload, with no console errors and
no more than the page's usual 4 requests per 2 s.

Screenshots and the cost go to .build/test-artifacts/dashboard/; with --update-screenshots the README's images
in docs/screenshots/ are replaced too. Every process started here is stopped by pid in a finally block.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import ElementClickInterceptedException, NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".build" / "test-artifacts" / "dashboard"
README_SCREENSHOTS = ROOT / "docs" / "screenshots"

PROBE_INTERVAL_S = 3.0
HEALTH_TIMEOUT_S = 1.0
NODE_TIMEOUT_S = 5.0
LAPTOP = (1366, 900)
PHONE = (390, 844)
COST_WINDOW_S = 20.0


# ---------- processes and ports ----------

def ephemeral_range_start():
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


# Ports Chromium refuses to open a page on (ERR_UNSAFE_PORT; Chromium's net/base/port_util.cc). 10080 is the one
# in the range picked from: a CI run whose gateway drew it never saw the dashboard load.
CHROMIUM_UNSAFE_PORTS = {
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
    111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
    540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
    6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
}


def free_ports(node_count):
    """A gateway port the browser may open and `node_count` consecutive node ports, free now, below the ephemeral
    range (where outgoing connections never take a port between our check and the servers' bind)."""
    top = ephemeral_range_start() - node_count - 1
    for _ in range(2000):
        first_node = random.randint(10_000, top)
        gateway = random.randint(10_000, top)
        nodes = list(range(first_node, first_node + node_count))
        if gateway in nodes or gateway in CHROMIUM_UNSAFE_PORTS:
            continue
        if all(port_is_free(port) for port in [gateway, *nodes]):
            return gateway, first_node
    raise RuntimeError("no free loopback ports")


def http_json(url, method="GET", timeout=5):
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def wait_for(description, condition, timeout=20.0, interval=0.1):
    """Polls `condition` until it returns something truthy; never a bare sleep."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (StaleElementReferenceException, NoSuchElementException, ElementClickInterceptedException, AttributeError, OSError, ValueError) as error:
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for: {description}" + (f" (last error: {last_error})" if last_error else ""))


def children_of(pid):
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def command_line(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def child_pid(parent, executable, port):
    """The child of `dfs up` running `executable` on `port`."""
    for pid in children_of(parent):
        argv = command_line(pid)
        if argv and os.path.basename(argv[0].decode()) == executable and str(port).encode() in argv:
            return pid
    raise AssertionError(f"no {executable} on port {port} among the children of {parent}")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cluster:
    """`dfs up` in its own process group, stopped by pid."""

    def __init__(self, bin_dir, work, extra_arguments=()):
        self.gateway_port, self.first_node_port = free_ports(3)
        self.s3_port = next(port for port in iter(lambda: random.randint(10_000, ephemeral_range_start() - 1), None)
                            if port_is_free(port) and port not in (self.gateway_port, *range(self.first_node_port,
                                                                                              self.first_node_port + 3)))
        self.data = work / "data"
        self.url = f"http://127.0.0.1:{self.gateway_port}"
        self.logs = work / "logs"
        self.stopped_pids = set()
        arguments = [
            str(bin_dir / "dfs"), "up", "--nodes", "3", "--port", str(self.gateway_port),
            "--node-port", str(self.first_node_port), "--s3-port", str(self.s3_port), "--data", str(work / "data"), "--log-dir", str(self.logs),
            "--probe-interval", f"{PROBE_INTERVAL_S:g}s", "--health-timeout", f"{HEALTH_TIMEOUT_S:g}s",
            # One failed probe flips a node, so "DOWN within one probe interval" is what the page must keep up with.
            "--gateway-arg", "--status-change-probes", "--gateway-arg", "1",
            # A stopped node accepts connections but never answers: a repair to it fails after this long.
            "--node-timeout", f"{NODE_TIMEOUT_S:g}s",
            *extra_arguments,
        ]
        self.output = open(work / "dfs-up.out", "wb")
        self.process = subprocess.Popen(arguments, stdout=self.output, stderr=subprocess.STDOUT, start_new_session=True,
                                        env={**os.environ, "DFS_BIN_DIR": str(bin_dir)})
        wait_for("the gateway's /health", lambda: self.process.poll() is None and http_json(self.url + "/health")["nodes_up"] == 3,
                 timeout=90, interval=0.25)
        if self.process.poll() is not None:
            raise AssertionError("dfs up exited early")

    def pid_of_node(self, number):
        return child_pid(self.process.pid, "dfs-node", self.first_node_port + number - 1)

    def gateway_pid(self):
        return child_pid(self.process.pid, "dfs-gateway", self.gateway_port)

    def pause(self, pid):
        os.kill(pid, signal.SIGSTOP)
        self.stopped_pids.add(pid)

    def resume(self, pid):
        os.kill(pid, signal.SIGCONT)
        self.stopped_pids.discard(pid)

    def node_status(self, node_id):
        return next(node["status"] for node in http_json(self.url + "/nodes") if node["id"] == node_id)

    def stop(self):
        for pid in list(self.stopped_pids):
            try:
                self.resume(pid)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # dfs up stops its children and waits for them
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.output.close()

    def print_logs(self):
        for log in sorted(self.logs.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-30:]
            print(f"===== {log.name}, last lines =====", *lines, sep="\n", file=sys.stderr)


# ---------- browser ----------

def start_browser(downloads):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("DFS_CHROMIUM", "/usr/bin/chromium")
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={LAPTOP[0]},{LAPTOP[1]}", "--disable-extensions", "--no-first-run"]:
        options.add_argument(argument)  # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    service = Service(executable_path=os.environ.get("DFS_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    return driver


class Page:
    def __init__(self, driver, shots):
        self.driver = driver
        self.shots = shots
        self.console = []

    def css(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def screenshot(self, name):
        """The whole page, not only the window (Chromium's captureBeyondViewport)."""
        # From the top, or the sticky header would be drawn where the window happens to be scrolled.
        self.driver.execute_script("window.scrollTo(0, 0)")
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        height = metrics["cssContentSize"]["height"]
        # Capturing beyond the viewport lays the page out without a scrollbar: take the window's full width.
        width = self.driver.execute_script("return window.innerWidth")
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        path = self.shots / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        print(f"screenshot {path.relative_to(ROOT)}")
        return path

    def screenshot_region(self, selectors, name):
        """The part of the page from the top of the first of `selectors` to the bottom of the last, full width."""
        self.driver.execute_script("window.scrollTo(0, 0)")
        clip = self.driver.execute_script("""
            const boxes = arguments[0].map((selector) => document.querySelector(selector).getBoundingClientRect());
            const top = Math.min(...boxes.map((box) => box.top)) + window.scrollY - 8;
            const bottom = Math.max(...boxes.map((box) => box.bottom)) + window.scrollY + 8;
            return { x: 0, y: Math.max(0, top), width: window.innerWidth, height: bottom - Math.max(0, top), scale: 1 };
        """, selectors)
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        path = self.shots / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        print(f"screenshot {path.relative_to(ROOT)}")
        return path

    def chart(self, node_id, measure):
        """The SVG of one node's chart (`latency`, `requests`, `in-flight`), or None."""
        found = self.css(f'.node-charts[data-charts-for="{node_id}"] .chart-{measure} svg')
        return found[0] if found else None

    def console_errors(self):
        self.console += self.driver.get_log("browser")
        return [entry for entry in self.console if entry["level"] == "SEVERE"]

    def message_about(self, text, kind=None):
        """The text of a shown message that mentions `text` (of `kind` error/success if given), else None."""
        selector = ".message" + (f".{kind}" if kind else "")
        texts = [message.find_element(By.TAG_NAME, "span").text for message in self.css(selector)]
        return next((shown for shown in texts if text in shown), None)

    def dismiss_messages(self):
        for button in self.css(".message button"):
            try:
                button.click()
            except StaleElementReferenceException:
                pass  # it went by itself

    def click(self, find):
        """Clicks what `find()` returns, finding it again if a refresh redrew it in between. Scrolled to the
        middle of the window first, away from the sticky header and the messages in the bottom corner."""
        def attempt():
            element = find()
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
            element.click()
            return True
        wait_for("a clickable element", attempt)

    def node_status(self, node_id):
        cards = self.css(f'.node[data-node-id="{node_id}"]')
        return cards[0].get_attribute("data-status") if cards else None

    def file_row(self, file_key):
        rows = self.css(f'#files tr[data-file-key="{file_key}"]')
        return rows[0] if rows else None

    def queue_rows(self, target=None, status=None):
        selector = "#queue tr"
        if target:
            selector += f'[data-target="{target}"]'
        if status:
            selector += f'[data-status="{status}"]'
        return self.css(selector)


def drop_generated_files(driver, sizes):
    """Drops files of random bytes (name → size) onto the upload area in one go, as a drag and drop from the
    desktop would (one DataTransfer holding the Files); returns name → SHA-256."""
    return driver.execute_async_script("""
        const [sizes, done] = arguments;
        const transfer = new DataTransfer();
        const digests = {};
        (async () => {
            for (const [name, size] of Object.entries(sizes)) {
                const bytes = new Uint8Array(size);
                for (let offset = 0; offset < size; offset += 65536) {
                    crypto.getRandomValues(bytes.subarray(offset, Math.min(offset + 65536, size)));
                }
                const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
                digests[name] = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
                transfer.items.add(new File([bytes], name, { type: "application/octet-stream" }));
            }
            const zone = document.getElementById("drop-zone");
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
            }
            done(digests);
        })();
    """, sizes)


# ---------- the scenario ----------

def put_s3_object(cluster, bucket, key, data):
    """Creates the bucket and puts one object with boto3, signed with the key `dfs up` wrote."""
    import boto3
    from botocore.config import Config

    lines = (cluster.data / "s3-credentials").read_text().splitlines()
    access_key, secret_key = next(line for line in lines if line.strip() and not line.startswith("#")).split()[:2]
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{cluster.s3_port}", aws_access_key_id=access_key,
                      aws_secret_access_key=secret_key, region_name="us-east-1",
                      config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=data)


def report_failure(driver, cluster):
    """What the page and the gateway showed when a step failed: a screenshot, the page's text, its console and
    `GET /nodes`, so a failure in CI can be read without rerunning it."""
    if driver is not None:
        try:
            path = ARTIFACTS / "failure.png"
            driver.save_screenshot(str(path))
            print(f"failure screenshot {path.relative_to(ROOT)}", file=sys.stderr)
            print("page text:", driver.find_element(By.TAG_NAME, "body").text[:2000], sep="\n", file=sys.stderr)
            print("console:", *driver.get_log("browser"), sep="\n", file=sys.stderr)
        except Exception as error:  # noqa: BLE001 - the report must not hide the failure
            print(f"could not capture the page: {error}", file=sys.stderr)
    if cluster is not None:
        try:
            print("GET /nodes:", json.dumps(http_json(cluster.url + "/nodes")), file=sys.stderr)
        except Exception as error:  # noqa: BLE001
            print(f"GET /nodes failed: {error}", file=sys.stderr)


def tear_down(driver, cluster, work, passed):
    """Stops the browser and the cluster by pid; keeps the work folder (and prints what the page and the logs showed)
    when the test failed."""
    if not passed:
        report_failure(driver, cluster)
    if driver is not None:
        try:
            driver.quit()  # stops chromedriver and Chromium
        except Exception as error:  # noqa: BLE001 - cleanup must go on
            print(f"could not stop the browser: {error}", file=sys.stderr)
    if cluster is not None:
        if not passed:
            cluster.print_logs()
        cluster.stop()
    if passed:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work} for inspection", file=sys.stderr)


def run(bin_dir, update_screenshots):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    work = Path(tempfile.mkdtemp(prefix="dfs-browser-test."))
    downloads = work / "downloads"
    downloads.mkdir()
    cluster = driver = None
    passed = False
    try:
        cluster = Cluster(bin_dir, work)
        print(f"dfs up: gateway {cluster.url}, nodes from port {cluster.first_node_port}")
        driver = start_browser(downloads)
        page = Page(driver, ARTIFACTS)
        driver.set_script_timeout(30)

        # 1. The page loads and fills itself from the API, with no console errors. (A first Chromium page load on a
        # starved machine can take long: the bound is generous, the step is not about speed.)
        driver.get(cluster.url + "/")
        wait_for("three node cards, all UP", lambda: len(page.css('.node[data-status="UP"]')) == 3, timeout=60)
        wait_for("the live indicator", lambda: page.one("#connection").text == "live")
        assert page.one(".node .free").text not in ("", "–"), "free space of a node is not shown"
        wait_for("three charts per node and four cluster charts", lambda: len(page.css(".node-charts svg.chart")) == 9
                 and len(page.css("#activity-charts svg.chart")) == 4)
        errors = page.console_errors()
        assert not errors, f"console errors on load: {errors}"
        page_loaded_at = driver.execute_script("return performance.timeOrigin")

        # 2. A dropped file shows progress, then its receipt, then is listed with 3 verified replicas.
        # Upload throttled to 8 MB/s so the progress bar can be seen (and photographed) half way.
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 8 * 1024 * 1024})
        dropped_name, second_name = "dropped-report.bin", "dropped-notes.txt"
        digests = drop_generated_files(driver, {dropped_name: 24 * 1024 * 1024, second_name: 64 * 1024})
        dropped_sha = digests[dropped_name]
        upload_item = f'.upload[data-filename="{dropped_name}"]'
        try:
            wait_for("a half-way progress bar", lambda: 5 <= int(page.one(upload_item + " progress").get_attribute("value")) <= 90
                     and page.one(upload_item).get_attribute("data-state") == "uploading", timeout=10, interval=0.02)
            page.screenshot("upload-progress")
        except AssertionError:
            print("note: the upload finished before a half-way screenshot could be taken")
        wait_for("the upload's receipt", lambda: page.one(upload_item).get_attribute("data-state") in ("done", "failed"), timeout=60)
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        item = page.one(upload_item)
        assert item.get_attribute("data-state") == "done", f"upload failed: {item.text}"
        assert item.get_attribute("data-saw-partial-progress") == "true", "the progress bar never showed a partial upload"
        assert item.get_attribute("data-verified") == "3", f"receipt: {item.text}"
        assert dropped_sha in item.text, "the receipt does not show the file's SHA-256"
        dropped_key = item.get_attribute("data-file-key")
        # The second file of the same drop has its own bar and receipt.
        second = page.one(f'.upload[data-filename="{second_name}"]')
        assert second.get_attribute("data-state") == "done" and second.get_attribute("data-verified") == "3", second.text
        assert digests[second_name] in second.text
        wait_for("the second dropped file listed", lambda: page.file_row(second.get_attribute("data-file-key")))
        wait_for("the dropped file listed with 3 verified replicas",
                 lambda: page.file_row(dropped_key) and page.file_row(dropped_key).get_attribute("data-verified") == "3")
        row = page.file_row(dropped_key)
        assert "3/3 verified" in row.text and len(row.find_elements(By.CSS_SELECTOR, ".chip.verified")) == 3, row.text
        page.click(lambda: page.file_row(dropped_key).find_element(By.CSS_SELECTOR, "button.details"))
        wait_for("replica details with 3 ACTIVE locations",
                 lambda: len(page.css(f'tr[data-detail-for="{dropped_key}"] tr[data-status="ACTIVE"]')) == 3)
        page.screenshot("overview")

        # 3. Download gives the same bytes.
        page.click(lambda: page.file_row(dropped_key).find_element(By.CSS_SELECTOR, "a.download"))
        saved = downloads / dropped_name
        wait_for("the downloaded file", lambda: saved.exists() and saved.stat().st_size == 24 * 1024 * 1024, timeout=30)
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == dropped_sha, "downloaded bytes differ"

        # 3b. An object put through the S3 API is listed under its S3 name.
        put_s3_object(cluster, "dashboard-bucket", "reports/2026/ünï q3.csv", os.urandom(10_000))
        wait_for("the S3 object listed with its s3:// name", lambda: any(
            label.text == "s3://dashboard-bucket/reports/2026/ünï q3.csv" for label in page.css("#files small.s3-object")),
            timeout=20)

        # 4. A stopped node turns DOWN on the page within one probe interval of the gateway noticing.
        node3 = cluster.pid_of_node(3)
        stopped_at = time.monotonic()
        cluster.pause(node3)
        wait_for("the gateway to mark node-3 DOWN", lambda: cluster.node_status("node-3") == "DOWN",
                 timeout=2 * PROBE_INTERVAL_S + 2 * HEALTH_TIMEOUT_S + 2, interval=0.05)
        api_down_at = time.monotonic()
        wait_for("node-3 DOWN on the page", lambda: page.node_status("node-3") == "DOWN", timeout=PROBE_INTERVAL_S, interval=0.05)
        page_down_at = time.monotonic()
        print(f"node-3 DOWN: gateway after {api_down_at - stopped_at:.2f} s, page {page_down_at - api_down_at:.2f} s later "
              f"(probe interval {PROBE_INTERVAL_S:g} s), no reload")
        assert driver.execute_script("return performance.timeOrigin") == page_loaded_at, "the page was reloaded"

        # 5. A file uploaded through the picker while node-3 is down queues a PENDING copy for node-3.
        picked = work / "picked while node-3 down.txt"
        picked.write_bytes(os.urandom(256 * 1024))
        driver.find_element(By.ID, "file-input").send_keys(str(picked))
        picked_item = f'.upload[data-filename="{picked.name}"]'
        wait_for("the picked file's receipt", lambda: page.one(picked_item).get_attribute("data-state") == "done", timeout=30)
        picked_key = page.one(picked_item).get_attribute("data-file-key")
        assert page.one(picked_item).get_attribute("data-verified") == "2", page.one(picked_item).text
        assert "queued for repair: node-3" in page.one(picked_item).text
        wait_for("a PENDING item for node-3 in the queue view",
                 lambda: any(row.get_attribute("data-file-key") == picked_key for row in page.queue_rows("node-3", "PENDING")))
        wait_for("the file listed as 2/3 verified", lambda: page.file_row(picked_key) and "2/3 verified" in page.file_row(picked_key).text)
        # The node filter narrows the queue to one node.
        driver.find_element(By.CSS_SELECTOR, '#queue-node option[value="node-1"]').click()
        wait_for("no node-3 items under the node-1 filter", lambda: not page.queue_rows("node-3"))
        driver.find_element(By.CSS_SELECTOR, '#queue-node option[value="node-3"]').click()
        wait_for("node-3's items under the node-3 filter", lambda: page.queue_rows("node-3", "PENDING"))
        page.screenshot("node-down")

        # 6. "recover" while node-3 is down reports the failure as a message; once it is back, it leaves no
        # PENDING items (the gateway also drains a returning node by itself, so the queue may be empty already).
        page.dismiss_messages()
        page.click(lambda: page.one('#recover-buttons button[data-node-id="node-3"]'))
        answer = wait_for("the recover answer while node-3 is down", lambda: page.message_about("node-3"), timeout=3 * NODE_TIMEOUT_S)
        print(f"recover while down: {answer}")
        page.dismiss_messages()
        cluster.resume(node3)
        wait_for("node-3 UP on the page", lambda: page.node_status("node-3") == "UP", timeout=3 * PROBE_INTERVAL_S + 5)
        page.click(lambda: page.one('#recover-buttons button[data-node-id="node-3"]'))
        answer = wait_for("the recover answer", lambda: page.message_about("node-3", kind="success"), timeout=30)
        print(f"recover after return: {answer}")
        wait_for("no PENDING items for node-3", lambda: not page.queue_rows("node-3", "PENDING") and page.one("#queue-empty").is_displayed())
        wait_for("the picked file at 3/3 verified", lambda: page.file_row(picked_key) and "3/3 verified" in page.file_row(picked_key).text)
        driver.find_element(By.CSS_SELECTOR, '#queue-status option[value="COMPLETED"]').click()
        wait_for("the completed repair in the queue view",
                 lambda: any(row.get_attribute("data-file-key") == picked_key for row in page.queue_rows("node-3", "COMPLETED")))
        page.screenshot("recovered")

        # 7. Search (the gateway's `q`, case ignored) filters the list by name.
        search = driver.find_element(By.ID, "search")
        search.send_keys("WHILE Node-3")
        wait_for("only the picked file listed", lambda: page.file_row(picked_key) and not page.file_row(dropped_key))
        search.clear()
        search.send_keys(" ")  # `clear()` fires no input event; an edit does
        wait_for("both files listed again", lambda: page.file_row(picked_key) and page.file_row(dropped_key))

        # 8. Delete asks first; dismissing keeps the file, accepting removes it.
        page.click(lambda: page.file_row(dropped_key).find_element(By.CSS_SELECTOR, "button.delete"))
        driver.switch_to.alert.dismiss()
        assert page.file_row(dropped_key) is not None, "a dismissed confirmation deleted the file"
        page.click(lambda: page.file_row(dropped_key).find_element(By.CSS_SELECTOR, "button.delete"))
        alert = driver.switch_to.alert
        assert dropped_name in alert.text
        alert.accept()
        wait_for("the deleted file gone from the list", lambda: page.file_row(dropped_key) is None)
        wait_for("the gateway no longer lists it", lambda: all(f["file_key"] != dropped_key for f in http_json(cluster.url + "/files")["files"]))

        # 9. An API error is shown as a message, and the page stays: a queue filter the API refuses (400).
        driver.execute_script("document.getElementById('queue-status').add(new Option('SLEEPING', 'SLEEPING'))")
        driver.find_element(By.CSS_SELECTOR, '#queue-status option[value="SLEEPING"]').click()
        wait_for("the API's error message on the page", lambda: "status must be one of" in page.one("#updated").text
                 and page.one("#connection").text == "API error")
        assert page.file_row(picked_key) is not None, "the file list went away with the error"
        driver.find_element(By.CSS_SELECTOR, '#queue-status option[value="PENDING"]').click()
        wait_for("live again", lambda: page.one("#connection").text == "live")
        expected_errors = ["replication-queue?limit=200&status=SLEEPING", "/nodes/node-1/drain"]

        # 9b. Each node card shows its zone and a capacity bar; its Drain button asks the gateway, which refuses here
        # (three nodes for three copies), and the page says why; the node stays ACTIVE.
        page.dismiss_messages()
        wait_for("node-1's zone and capacity bar", lambda: page.one('.node[data-node-id="node-1"] .zone').text == "node-1"
                 and page.css('.node[data-node-id="node-1"] .capacity-bar'))
        page.click(lambda: page.one('.node[data-node-id="node-1"] button.drain'))
        refusal = wait_for("the drain refusal", lambda: page.message_about("active node", kind="error"), timeout=10)
        print(f"drain refused: {refusal}")
        assert all(node["state"] == "ACTIVE" for node in http_json(cluster.url + "/nodes")), "a refused drain changed a node"

        # 10. Phone width: one column, still readable.
        # A phone's viewport (overlay scrollbars, device width), as Chromium's device emulation gives it.
        page.dismiss_messages()
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True})
        wait_for("the page refreshed at phone width", lambda: page.one("#connection").text == "live")
        # The charts follow the width (the page redraws them on resize): as wide as the cards, not as on the laptop.
        wait_for("charts redrawn at phone width", lambda: all(
            int(chart.get_attribute("width")) >= 300 for chart in page.css(".node-charts svg.chart, #activity-charts svg.chart")))
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= PHONE[0], f"the page scrolls sideways at phone width ({width}px)"
        page.screenshot("phone")
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

        # 11. What an open dashboard costs the gateway: its requests per second, and CPU against an idle gateway.
        cost = measure_cost(driver, cluster)
        (ARTIFACTS / "cost.json").write_text(json.dumps(cost, indent=2) + "\n")
        print("dashboard cost: " + json.dumps(cost))
        assert cost["requests"] <= cost["request_budget"], f"the page polled more than 4 requests per 2 s: {cost}"

        errors = [e for e in page.console_errors() if not any(expected in e["message"] for expected in expected_errors)]
        assert not errors, f"console errors during the run: {errors}"

        # 12. Charts during a node kill: under load, a new page shows history at once; a SIGKILLed node is shaded DOWN
        # and its request rate falls to zero, without a reload.
        page.console = []  # judged above; from here on no console error at all is expected
        load = TrafficLoad(cluster.url)
        load.start()
        try:
            charts_during_node_kill(driver, page, cluster, load)
        finally:
            load.stop()
        print(f"load during the kill: {load.summary()}")
        passed = True
    finally:
        tear_down(driver, cluster, work, passed)
    if update_screenshots:
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name in ["overview", "upload-progress", "node-down", "phone", "key-prompt", "charts-node-killed"]:
            if (ARTIFACTS / f"{name}.png").exists():
                shutil.copy(ARTIFACTS / f"{name}.png", README_SCREENSHOTS / f"dashboard-{name}.png")
    print("browser test passed")


def upload_with_key(url, key, name, body):
    """A raw-body upload with a bearer key; returns the receipt."""
    request = urllib.request.Request(f"{url}/upload?filename={name}", data=body, method="PUT",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def run_with_keys(bin_dir):
    """With API keys on: the page asks for a key, a read-only key shows the cluster and downloads through a
    signed link (streamed to disk by the browser) but may not delete (the refusal is a message, the file stays), a
    read-write key deletes."""
    work = Path(tempfile.mkdtemp(prefix="dfs-browser-keys."))
    read_only, read_write = os.urandom(16).hex(), os.urandom(16).hex()
    keys_file = work / "api-keys"
    keys_file.write_text(f"# browser test\nread-only {read_only} viewer\nread-write {read_write} operator\n")
    cluster = driver = None
    passed = False
    try:
        cluster = Cluster(bin_dir, work, ["--api-keys-file", str(keys_file)])
        print(f"dfs up with API keys: gateway {cluster.url}")
        kept = os.urandom(3 * 1024 * 1024)
        file_key = upload_with_key(cluster.url, read_write, "kept-by-read-only.bin", kept)["file_key"]
        driver = start_browser(work)
        page = Page(driver, ARTIFACTS)

        driver.get(cluster.url + "/")
        dialog = lambda: page.one("#key-dialog")
        wait_for("the key prompt", lambda: dialog().get_attribute("open") is not None, timeout=60)  # a first page load
        page.screenshot("key-prompt")

        def enter_key(key):
            field = page.one("#key-input")
            field.clear()
            field.send_keys(key)
            page.one("#key-save").click()

        enter_key(read_only)
        wait_for("three node cards with the read-only key", lambda: len(page.css('.node[data-status="UP"]')) == 3)
        wait_for("the file listed with the read-only key", lambda: page.file_row(file_key))
        page.click(lambda: page.file_row(file_key).find_element(By.CSS_SELECTOR, "a.download"))
        saved = work / "kept-by-read-only.bin"
        wait_for("the download through a signed link", lambda: saved.exists() and saved.stat().st_size == len(kept), timeout=30)
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(kept).hexdigest(), "downloaded bytes differ"
        links = [entry for entry in driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
                 if "/download/" in entry]
        assert not links, f"the page fetched the file itself instead of letting the browser save it: {links}"
        page.click(lambda: page.file_row(file_key).find_element(By.CSS_SELECTOR, "button.delete"))
        driver.switch_to.alert.accept()
        refusal = wait_for("the read-only refusal shown", lambda: page.message_about("read-only", kind="error"))
        print(f"read-only delete: {refusal}")
        assert page.file_row(file_key) is not None, "a read-only key deleted a file"

        page.dismiss_messages()
        page.click(lambda: page.one("#key-button"))
        wait_for("the key prompt again", lambda: dialog().get_attribute("open") is not None)
        enter_key(read_write)
        page.click(lambda: page.file_row(file_key).find_element(By.CSS_SELECTOR, "button.delete"))
        driver.switch_to.alert.accept()
        wait_for("the file deleted with the read-write key", lambda: page.file_row(file_key) is None)

        # Refusals before a key was entered are expected (401, 403); nothing else may reach the console.
        errors = [e for e in page.console_errors() if " 401 " not in e["message"] and " 403 " not in e["message"]]
        assert not errors, f"console errors with keys on: {errors}"
        passed = True
    finally:
        tear_down(driver, cluster, work, passed)
    print("browser test with API keys passed")


def poll_budget(seconds):
    """Requests a page may send in `seconds` at today's rate: one round of 4 every 2 s, counting a round begun at
    either end of the window."""
    return 4 * (int(seconds // 2) + 1)


class TrafficLoad:
    """Client traffic for the charts: two threads download stored files, one uploads a small file twice a second,
    until stopped. Errors are counted, not raised: a killed node may fail a request the gateway cannot save."""

    def __init__(self, url, files=6, size=128 * 1024):
        self.url = url
        self.keys = [self.upload(f"chart-load-{index}.bin", os.urandom(size)) for index in range(files)]
        self.stopping = threading.Event()
        self.counts = {"downloads": 0, "uploads": 0, "errors": 0}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.download_loop, daemon=True) for _ in range(2)]
        self.threads.append(threading.Thread(target=self.upload_loop, daemon=True))

    def upload(self, name, body):
        request = urllib.request.Request(f"{self.url}/upload?filename={name}", data=body, method="PUT",
                                         headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["file_key"]

    def count(self, what):
        with self.lock:
            self.counts[what] += 1

    def download_loop(self):
        while not self.stopping.is_set():
            try:
                with urllib.request.urlopen(f"{self.url}/download/{random.choice(self.keys)}", timeout=30) as response:
                    response.read()
                self.count("downloads")
            except Exception:  # noqa: BLE001 - counted; the gateway's answer is not what this load is for
                self.count("errors")
            self.stopping.wait(0.01)

    def upload_loop(self):
        index = 0
        while not self.stopping.wait(0.5):
            try:
                self.upload(f"chart-upload-{index}.bin", os.urandom(64 * 1024))
                self.count("uploads")
            except Exception:  # noqa: BLE001
                self.count("errors")
            index += 1

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=40)

    def summary(self):
        with self.lock:
            return dict(self.counts)


def last_value(chart):
    text = chart.get_attribute("data-last") if chart is not None else ""
    return float(text) if text else None


def charts_during_node_kill(driver, page, cluster, load):
    # The gateway has samples of the load before the page exists: wait until they show in its history.
    wait_for("the load in the gateway's history", lambda: any(
        sample["downloads_per_second"] > 0 for sample in http_json(cluster.url + "/status/history")["cluster"]["traffic"]), timeout=30)
    opened = time.monotonic()
    driver.get(cluster.url + "/")
    wait_for("node charts drawn", lambda: page.chart("node-1", "requests") is not None, timeout=60)
    points = int(page.chart("node-1", "requests").get_attribute("data-points"))
    print(f"a new page shows {points} samples of node-1 at once ({time.monotonic() - opened:.1f} s after opening it)")
    assert points >= 5, f"the new page shows only {points} samples: no history"
    loaded_at = driver.execute_script("return performance.timeOrigin")
    driver.execute_script("performance.setResourceTimingBufferSize(100000); performance.clearResourceTimings();")
    counting_since = time.monotonic()

    # The node the page shows busiest is the one killed.
    def busiest():
        rates = {node: last_value(page.chart(node, "requests")) or 0 for node in ["node-1", "node-2", "node-3"]}
        node = max(rates, key=rates.get)
        return node if rates[node] > 0 else None
    victim = wait_for("a node with requests on its chart", busiest, timeout=30)
    number = int(victim.split("-")[1])
    killed_at = time.monotonic()
    os.kill(cluster.pid_of_node(number), signal.SIGKILL)
    print(f"killed {victim} (SIGKILL) while its chart showed {last_value(page.chart(victim, 'requests'))} requests/s")

    def shaded_and_silent():
        charts = [page.chart(victim, measure) for measure in ["latency", "requests", "in-flight"]]
        shaded = all(chart is not None and int(chart.get_attribute("data-down-bands")) >= 1
                     and chart.find_elements(By.CSS_SELECTOR, "rect.down-band") for chart in charts)
        return shaded and last_value(charts[1]) == 0 and page.node_status(victim) == "DOWN"
    wait_for(f"{victim} shaded DOWN with zero requests/s on the page", shaded_and_silent,
             timeout=2 * PROBE_INTERVAL_S + 2 * HEALTH_TIMEOUT_S + 20, interval=0.2)
    print(f"{victim}: DOWN band and 0 requests/s on the page {time.monotonic() - killed_at:.1f} s after the kill")
    # A few more seconds of the outage on the charts, for the eye and the screenshot.
    wait_for("the outage a few samples long", lambda: last_value(page.chart(victim, "requests")) == 0
             and time.monotonic() - killed_at > 12, timeout=30, interval=0.5)
    assert driver.execute_script("return performance.timeOrigin") == loaded_at, "the page was reloaded"
    seconds = time.monotonic() - counting_since
    requests = driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.initiatorType === 'fetch').length")
    print(f"page requests during the kill: {requests} in {seconds:.1f} s ({requests / seconds:.2f}/s; budget {poll_budget(seconds)})")
    assert requests <= poll_budget(seconds), f"{requests} requests in {seconds:.1f} s: more than 4 per 2 s"
    errors = page.console_errors()
    assert not errors, f"console errors during the node kill: {errors}"
    page.screenshot_region(["#nodes-section", "#activity-section"], "charts-node-killed")
    history = http_json(cluster.url + "/status/history")["cluster"]
    times = [sample["t"] for sample in history["replication"]]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    print(f"replication summaries: {len(times)} in the window, largest gap {max(gaps, default=0):.1f} s, newest "
          f"{history['traffic'][-1]['t'] - times[-1]:.1f} s behind the newest traffic sample")


def measure_cost(driver, cluster):
    gateway = cluster.gateway_pid()
    driver.execute_script("performance.setResourceTimingBufferSize(100000); performance.clearResourceTimings();")
    cpu_before, started = cpu_seconds(gateway), time.monotonic()
    time.sleep(COST_WINDOW_S)  # a measurement window, not a wait for a condition
    cpu_open, open_seconds = cpu_seconds(gateway) - cpu_before, time.monotonic() - started
    polls = driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.initiatorType === 'fetch' || e.initiatorType === 'xmlhttprequest')"
        ".map(e => ({ name: e.name, bytes: e.encodedBodySize }))")
    requests = len(polls)
    history = [poll["bytes"] for poll in polls if "/status/history" in poll["name"]]
    driver.get("about:blank")
    cpu_before, started = cpu_seconds(gateway), time.monotonic()
    time.sleep(COST_WINDOW_S)
    cpu_closed, closed_seconds = cpu_seconds(gateway) - cpu_before, time.monotonic() - started
    return {
        "window_seconds": round(open_seconds, 1),
        "requests": requests,
        "requests_per_second": round(requests / open_seconds, 2),
        "request_budget": poll_budget(open_seconds),
        "history_polls": len(history),
        "history_bytes_per_poll": round(sum(history) / len(history)) if history else None,
        "gateway_cpu_percent_dashboard_open": round(100 * cpu_open / open_seconds, 2),
        "gateway_cpu_percent_dashboard_closed": round(100 * cpu_closed / closed_seconds, 2),
        "build": "debug",
        "probe_interval_seconds": PROBE_INTERVAL_S,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", default=os.environ.get("DFS_BIN_DIR", str(ROOT / ".build" / "debug")),
                        help="folder with dfs, dfs-gateway and dfs-node (default .build/debug)")
    parser.add_argument("--update-screenshots", action="store_true", help="also copy the screenshots into docs/screenshots/")
    arguments = parser.parse_args()
    bin_dir = Path(arguments.bin_dir)
    for binary in ["dfs", "dfs-gateway", "dfs-node"]:
        if not (bin_dir / binary).exists():
            sys.exit(f"{bin_dir / binary} is missing: build first (scripts/swift.sh build)")
    run(bin_dir, arguments.update_screenshots)
    run_with_keys(bin_dir)


if __name__ == "__main__":
    main()
