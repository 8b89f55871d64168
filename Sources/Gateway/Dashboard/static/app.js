// SwiftDFS dashboard. Plain JavaScript against the gateway's public API; no build step, no dependencies.
// Live by short polling: every REFRESH_MS one round of four GETs (nodes, history with the replication status,
// queue, files), never overlapping, paused while the tab is hidden. The page never reloads itself.
import { ApiError, api, apiKey, describe, wireKeyDialog } from "./api.js";
import { $, el, formatAge, formatBytes, formatTime, setConnection, shortKey, showMessage } from "./dom.js";
import { drawClusterCharts, drawNodeCharts, historyPath, mergeHistory } from "./history.js";
import { wireUploads } from "./uploads.js";

const REFRESH_MS = 2000;
const PAGE_SIZE = 25;
const QUEUE_ROWS = 200;

const state = {
  nodes: [],
  status: null,
  queueItems: [],
  files: [],
  filesQuery: "", // the search text `files` answers
  nextAfter: null,
  cursors: [""], // cursor of each page visited, for "Newer"
  openDetails: new Map(), // file_key → detail answer (or null while loading)
  refreshing: false,
  refreshAgain: false,
  timer: null,
  rendered: {}, // section → what it was last drawn from, so unchanged data leaves the DOM (and any click) alone
};

/** Runs `draw` only when `data` differs from what `section` last showed. */
function renderIfChanged(section, data, draw) {
  const signature = JSON.stringify(data);
  if (state.rendered[section] === signature) return;
  state.rendered[section] = signature;
  draw();
}

// ---------- refresh loop ----------

/** The search text, sent as `q`: the gateway matches it against every file's name and key, case ignored. */
function searchQuery() {
  return $("search").value.trim();
}

function queuePath() {
  const query = new URLSearchParams({ limit: String(QUEUE_ROWS) });
  if ($("queue-status").value) query.set("status", $("queue-status").value);
  if ($("queue-node").value) query.set("node_id", $("queue-node").value);
  return "/replication-queue?" + query;
}

function filesPath(query) {
  const parameters = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (query) parameters.set("q", query);
  const cursor = state.cursors[state.cursors.length - 1];
  if (cursor) parameters.set("after", cursor);
  return "/files?" + parameters;
}

async function refresh() {
  if (state.refreshing) { state.refreshAgain = true; return; }
  state.refreshing = true;
  clearTimeout(state.timer);
  try {
    const query = searchQuery();
    const results = await Promise.allSettled([
      api("/nodes"), api(historyPath()), api(queuePath()), api(filesPath(query)),
    ]);
    const [nodes, history, queue, files] = results;
    if (nodes.status === "fulfilled") { state.nodes = nodes.value; renderIfChanged("nodes", state.nodes, renderNodes); }
    if (history.status === "fulfilled") {
      mergeHistory(history.value);
      state.status = history.value.replication_status;
      // The age ticks every second; the rest decides whether anything else changed.
      renderIfChanged("health", [state.status, $("queue-status").value], renderHealth);
    }
    if (queue.status === "fulfilled") { state.queueItems = queue.value.items; renderIfChanged("queue", [state.queueItems, state.files.length], renderQueue); }
    // An answer for text the user has since changed is dropped; the search box's own refresh follows.
    if (files.status === "fulfilled" && query === searchQuery()) {
      state.files = files.value.files;
      state.filesQuery = query;
      state.nextAfter = files.value.next_after || null;
      renderIfChanged("files", [state.files, state.nextAfter, state.status && state.status.replication_factor, query, [...state.openDetails.keys()]], renderFiles);
    }
    // New samples arrive every second: the charts are drawn on every round, after the node cards they sit in.
    drawCharts();
    const failure = results.find((result) => result.status === "rejected");
    if (failure) {
      const error = failure.reason;
      setConnection(false, error instanceof ApiError && error.status === 0 ? "gateway unreachable" : "API error");
      $("updated").textContent = error instanceof ApiError ? error.describe() : String(error);
    } else {
      setConnection(true, "live");
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    }
  } catch (error) {
    // A bug in rendering must not stop the loop or blank the page: show it and keep polling.
    setConnection(false, "page error");
    $("updated").textContent = String(error && error.message ? error.message : error);
  } finally {
    state.refreshing = false;
    if (state.refreshAgain) { state.refreshAgain = false; refresh(); } else { schedule(); }
  }
}

function drawCharts() {
  drawNodeCharts();
  drawClusterCharts();
}

function schedule() {
  clearTimeout(state.timer);
  if (!document.hidden) state.timer = setTimeout(refresh, REFRESH_MS);
}

function refreshSoon() {
  clearTimeout(state.timer);
  refresh();
}

// ---------- health ----------

function renderHealth() {
  const status = state.status;
  $("stat-nodes").textContent = status.nodes_up + " / " + status.nodes_total;
  $("stat-nodes").classList.toggle("bad", status.nodes_up < status.nodes_total);
  $("stat-under").textContent = status.under_replicated_files +
    (status.under_replicated_files ? " (" + formatBytes(status.under_replicated_bytes) + ")" : "");
  $("stat-under").classList.toggle("bad", status.under_replicated_files > 0);
  $("stat-oldest").textContent = status.oldest_missing_since ? formatAge(status.oldest_missing_age_seconds) + " ago" : "none";
  $("stat-oldest").title = status.oldest_missing_since ? "queued " + formatTime(status.oldest_missing_since) : "";
  const order = ["PENDING", "IN_PROGRESS", "FAILED", "COMPLETED", "CANCELLED"];
  const names = Object.keys(status.queue || {}).sort((a, b) => order.indexOf(a) - order.indexOf(b));
  $("stat-queue").replaceChildren(...names.map((name) => el("button", {
    type: "button",
    class: "chip state-" + name + ($("queue-status").value === name ? " active-filter" : ""),
    dataset: { state: name, count: String(status.queue[name]) },
    title: "Show " + name + " items",
    text: name + " " + status.queue[name],
    onclick: () => { $("queue-status").value = name; refreshSoon(); },
  })));
}

// ---------- nodes ----------

function renderNodes() {
  $("nodes").replaceChildren(...state.nodes.map((node) => el("article", {
    class: "node", dataset: { nodeId: node.id, status: node.status },
  },
    el("div", { class: "node-head" },
      el("strong", { text: node.id }),
      el("span", { class: "chip", text: node.role }),
      ...(node.ejected ? [el("span", {
        class: "pill pill-wait node-ejected", text: "ejected", title: "Consecutive failed requests: asked only as a last resort until a probe succeeds",
      })] : []),
      ...(node.state && node.state !== "ACTIVE" ? [el("span", {
        class: "pill pill-wait node-state", text: node.state,
        title: node.state === "DRAINING" ? "Takes no new copies; its copies are being re-made elsewhere" : "Holds nothing anyone needs: it can be removed",
      })] : []),
      el("span", { class: "pill node-status " + (node.status === "UP" ? "pill-ok" : "pill-bad"), text: node.status })),
    el("div", { class: "address", text: node.address }),
    capacityBar(node),
    el("dl", {},
      el("dt", { text: "Latency" }), el("dd", { class: "latency", text: node.latency_ms === null || node.latency_ms === undefined ? "–" : node.latency_ms.toFixed(1) + " ms" }),
      el("dt", { text: "In flight" }), el("dd", { class: "in-flight", text: String(node.in_flight ?? 0) }),
      el("dt", { text: "Free space" }), el("dd", { class: "free", text: formatBytes(node.free_bytes) }),
      el("dt", { text: "Blobs" }), el("dd", { class: "blobs", text: node.blob_count ?? "–" }),
      el("dt", { text: "Zone" }), el("dd", { class: "zone", text: node.zone ?? "–" }),
      el("dt", { text: "Last heartbeat" }), el("dd", { text: node.last_heartbeat ? new Date(node.last_heartbeat).toLocaleTimeString() : "–" })),
    lifecycleButton(node),
    el("div", { class: "node-charts", dataset: { chartsFor: node.id } }))));
  renderNodeControls();
}

/** Used bytes against capacity, the share placement weighs the node by. */
function capacityBar(node) {
  if (!node.capacity_bytes) return el("div", { class: "capacity", text: "capacity unknown" });
  const used = node.used_bytes ?? 0;
  const percent = Math.min(100, (100 * used) / node.capacity_bytes);
  const filled = el("div", { class: "capacity-used" });
  filled.style.width = percent.toFixed(1) + "%"; // CSSOM, not a style attribute: the page's CSP allows no inline style
  return el("div", { class: "capacity", title: formatBytes(used) + " of " + formatBytes(node.capacity_bytes) + " used" },
    el("div", { class: "capacity-bar" + (percent >= 95 ? " full" : "") }, filled),
    el("span", { class: "capacity-text", text: percent.toFixed(0) + " % of " + formatBytes(node.capacity_bytes) }));
}

/** Drain an ACTIVE node, activate a draining or drained one. */
function lifecycleButton(node) {
  const draining = node.state === "DRAINING" || node.state === "DRAINED";
  return el("button", {
    type: "button", class: draining ? "activate" : "drain", dataset: { nodeId: node.id },
    text: draining ? "Activate" : "Drain",
    title: draining ? "Take new copies on " + node.id + " again" : "Move every copy off " + node.id + ", then it can be removed",
    onclick: (event) => changeLifecycle(node.id, draining ? "activate" : "drain", event.currentTarget),
  });
}

async function changeLifecycle(nodeID, action, button) {
  button.disabled = true;
  try {
    const answer = await api("/nodes/" + encodeURIComponent(nodeID) + "/" + action, { method: "POST" });
    showMessage(answer.message, "success");
  } catch (error) {
    showMessage(action + " " + nodeID + " failed: " + describe(error), "error");
  } finally {
    button.disabled = false;
    refreshSoon();
  }
}

/** The queue's node filter and the recover buttons follow the node list. */
function renderNodeControls() {
  const select = $("queue-node");
  const chosen = select.value;
  const ids = state.nodes.map((node) => node.id);
  const current = Array.from(select.options).slice(1).map((option) => option.value);
  if (ids.join() !== current.join()) {
    select.replaceChildren(el("option", { value: "", text: "all" }), ...ids.map((id) => el("option", { value: id, text: id })));
    select.value = ids.includes(chosen) ? chosen : "";
  }
  const buttons = $("recover-buttons");
  const shown = Array.from(buttons.children).map((button) => button.dataset.nodeId);
  if (ids.join() !== shown.join()) {
    buttons.replaceChildren(...ids.map((id) => el("button", {
      type: "button", class: "recover", dataset: { nodeId: id }, text: "Recover " + id,
      title: "Process " + id + "'s pending and failed items now", onclick: (event) => recover(id, event.currentTarget),
    })));
  }
}

async function recover(nodeID, button) {
  button.disabled = true;
  button.textContent = "Recovering " + nodeID + "…";
  try {
    const answer = await api("/nodes/" + encodeURIComponent(nodeID) + "/recover", { method: "POST" });
    const text = answer.total === 0
      ? answer.message
      : `${nodeID}: ${answer.success} of ${answer.total} recovered, ${answer.failed} failed, ${answer.pending_items} still pending`;
    showMessage(text, answer.failed > 0 ? "error" : "success");
  } catch (error) {
    showMessage("Recover " + nodeID + " failed: " + describe(error), "error");
  } finally {
    button.disabled = false;
    button.textContent = "Recover " + nodeID;
    refreshSoon();
  }
}


// ---------- queue ----------

function renderQueue() {
  const names = new Map(state.files.map((file) => [file.file_key, file.original_filename]));
  $("queue").replaceChildren(...state.queueItems.map((item) => el("tr", {
    dataset: { itemId: String(item.id), status: item.status, target: item.target_node_id, fileKey: item.file_key },
  },
    el("td", { class: "num", text: String(item.id) }),
    el("td", { class: "name", title: item.file_key }, names.get(item.file_key) || shortKey(item.file_key)),
    el("td", { text: item.target_node_id }),
    el("td", { class: "col-source", text: item.source_node_id || "–" }),
    el("td", { class: "col-kind", text: item.kind }),
    el("td", {}, el("span", { class: "chip state-" + item.status, text: item.status })),
    el("td", { class: "num col-retries", text: String(item.retry_count) }),
    el("td", { class: "col-time", text: formatTime(item.last_attempt) }),
    el("td", { class: "error col-error", text: item.error_message || "" }))));
  $("queue-empty").hidden = state.queueItems.length > 0;
  for (const chip of $("stat-queue").children) chip.classList.toggle("active-filter", chip.dataset.state === $("queue-status").value);
}

// ---------- files ----------

function replicationFactor() {
  return state.status ? state.status.replication_factor : 3;
}

function renderFiles() {
  const searching = state.filesQuery !== "";
  const files = state.files;
  const rows = [];
  for (const file of files) {
    rows.push(fileRow(file));
    if (state.openDetails.has(file.file_key)) rows.push(detailRow(file.file_key));
  }
  $("files").replaceChildren(...rows);
  $("files-empty").hidden = files.length > 0;
  // A search no index serves reads a bounded span of files per page: an empty page with a next one means the
  // older files are not searched yet, not that nothing matches.
  $("files-empty").textContent = !searching ? "No files."
    : state.nextAfter ? "No match among these files; older ones follow on the next page."
    : "No file name matches.";
  $("search-note").hidden = !searching;
  $("search-note").textContent = searching ? `Files whose name or key contains “${state.filesQuery}”, case ignored.` : "";
  $("prev-page").disabled = state.cursors.length <= 1;
  $("next-page").disabled = !state.nextAfter;
  $("page-label").textContent = "Page " + state.cursors.length;
}

function fileRow(file) {
  const factor = replicationFactor();
  const verified = file.replicas.length;
  const chips = file.replicas.map((node) => el("span", { class: "chip verified", title: "verified copy", text: "✓ " + node }));
  if (verified < factor) {
    chips.push(el("span", { class: "chip missing", title: "copies below the replication factor are queued for repair", text: (factor - verified) + " missing" }));
  }
  return el("tr", { dataset: { fileKey: file.file_key, verified: String(verified) } },
    el("td", { class: "name" }, file.original_filename, el("small", { text: file.file_key }), s3Label(file)),
    el("td", { class: "num", text: formatBytes(file.size_bytes) }),
    el("td", { class: "col-time", text: formatTime(file.uploaded_at) }),
    el("td", {},
      el("span", { class: "replica-summary", text: verified + "/" + factor + " verified" }),
      el("div", { class: "chips" }, chips)),
    el("td", { class: "actions" },
      el("a", { class: "button-link download", href: "/download/" + encodeURIComponent(file.file_key), download: file.original_filename,
        onclick: (event) => download(event, file) , text: "Download" }),
      el("button", { type: "button", class: "details", onclick: () => toggleDetails(file.file_key),
        text: state.openDetails.has(file.file_key) ? "Hide" : "Details" }),
      el("button", { type: "button", class: "danger delete", onclick: () => deleteFile(file), text: "Delete" })));
}

// Which S3 object a file holds the bytes of (all of them, or one part), as clients name it.
function s3Label(file) {
  if (!file.bucket) return null;
  const part = file.part_number ? ` · part ${file.part_number} of ${file.object_parts}` : "";
  return el("small", { class: "s3-object", title: "S3 object", text: `s3://${file.bucket}/${file.object_key}${part}` });
}

function detailRow(fileKey) {
  const detail = state.openDetails.get(fileKey);
  let content;
  if (!detail) {
    content = el("span", { class: "muted", text: "loading…" });
  } else {
    content = el("div", {},
      el("div", {}, "SHA-256 ", el("code", { text: detail.checksum_sha256 })),
      el("table", { class: "detail-table" },
        el("thead", {}, el("tr", {}, el("th", { text: "Node" }), el("th", { text: "State" }), el("th", { text: "Last verified" }))),
        el("tbody", {}, detail.locations.map((location) => el("tr", { dataset: { node: location.node_id, status: location.status } },
          el("td", { text: location.node_id }),
          el("td", {}, el("span", { class: "chip " + (location.status === "ACTIVE" ? "verified" : "missing"), text: location.status })),
          el("td", { text: formatTime(location.last_verified_at) }))))));
  }
  return el("tr", { class: "detail", dataset: { detailFor: fileKey } }, el("td", { colspan: "5" }, content));
}

async function toggleDetails(fileKey) {
  if (state.openDetails.has(fileKey)) {
    state.openDetails.delete(fileKey);
    renderFiles();
    return;
  }
  state.openDetails.set(fileKey, null);
  renderFiles();
  try {
    state.openDetails.set(fileKey, await api("/files/" + encodeURIComponent(fileKey)));
  } catch (error) {
    state.openDetails.delete(fileKey);
    showMessage("Could not load the file's replicas: " + describe(error), "error");
  }
  renderFiles();
}

/**
 * The browser streams the file to disk from a plain link. Without an API key that is the download URL, after a
 * HEAD has checked the file, so an API error becomes a message, not an error page. With a key, which a link
 * cannot carry as a header, the gateway signs a short-lived URL for this one file (GET /files/{key}/download-link).
 */
async function download(event, file) {
  event.preventDefault();
  const path = "/download/" + encodeURIComponent(file.file_key);
  try {
    if (!apiKey()) {
      const response = await fetch(path, { method: "HEAD", cache: "no-store" }).catch((error) => {
        throw new ApiError(0, "network", "gateway unreachable (" + error.message + ")");
      });
      if (!response.ok) throw new ApiError(response.status, "http_" + response.status, "the gateway cannot serve this file now");
      saveFrom(path, file.original_filename);
      return;
    }
    const link = await api("/files/" + encodeURIComponent(file.file_key) + "/download-link");
    saveFrom(link.url, file.original_filename);
  } catch (error) {
    showMessage("Download of " + file.original_filename + " failed: " + describe(error), "error");
  }
}

function saveFrom(href, filename) {
  const link = el("a", { href, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}

async function deleteFile(file) {
  if (!confirm(`Delete "${file.original_filename}" from every node? This cannot be undone.`)) return;
  try {
    const answer = await api("/files/" + encodeURIComponent(file.file_key), { method: "DELETE" });
    state.openDetails.delete(file.file_key);
    state.files = state.files.filter((entry) => entry.file_key !== file.file_key);
    renderFiles();
    const pending = answer.failed && answer.failed.length ? "; queued for " + answer.failed.join(", ") : "";
    showMessage(`Deleted ${file.original_filename} from ${answer.deleted_nodes} node(s)${pending}.`, "success");
  } catch (error) {
    showMessage("Delete of " + file.original_filename + " failed: " + describe(error), "error");
  }
  refreshSoon();
}

function wireFiles() {
  let typing = null;
  $("search").addEventListener("input", () => {
    // New text starts at the first page; the request waits until typing pauses.
    state.cursors = [""];
    clearTimeout(typing);
    typing = setTimeout(refreshSoon, 300);
  });
  $("next-page").addEventListener("click", () => {
    if (!state.nextAfter) return;
    state.cursors.push(state.nextAfter);
    refreshSoon();
  });
  $("prev-page").addEventListener("click", () => {
    if (state.cursors.length > 1) state.cursors.pop();
    refreshSoon();
  });
  $("queue-status").addEventListener("change", refreshSoon);
  $("queue-node").addEventListener("change", refreshSoon);
}

// ---------- start ----------

document.addEventListener("visibilitychange", () => { if (document.hidden) clearTimeout(state.timer); else refreshSoon(); });
// Charts are drawn at their box's width: a rotated phone or a resized window redraws them (no request).
let resizing = null;
window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(drawCharts, 150); });

wireKeyDialog(refreshSoon);
wireFiles();
wireUploads(refreshSoon);
refresh();
