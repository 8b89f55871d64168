// SwiftDFS dashboard. Plain JavaScript against the gateway's public API; no build step, no dependencies.
// Live by short polling: every REFRESH_MS one round of four GETs (nodes, replication status, queue, files),
// never overlapping, paused while the tab is hidden. The page never reloads itself.
"use strict";

const REFRESH_MS = 2000;
const PAGE_SIZE = 25;
// Search filters by name in the browser (the API has no name filter): it loads the newest files up to this many.
const SEARCH_WINDOW = 1000;
const KEY_STORAGE = "swiftdfs.apiKey";
const UPLOADS_AT_ONCE = 2;
const QUEUE_ROWS = 200;
// A gateway that accepts connections but never answers (stopped, overloaded) must not freeze the page on "live".
const REQUEST_TIMEOUT_MS = 10000;

const state = {
  nodes: [],
  status: null,
  queueItems: [],
  files: [],
  nextAfter: null,
  cursors: [""], // cursor of each page visited, for "Newer"
  openDetails: new Map(), // file_key → detail answer (or null while loading)
  refreshing: false,
  refreshAgain: false,
  timer: null,
  keyPromptOpen: false,
  keyDeclined: false, // the user cancelled the key prompt: do not pop it up again on every refresh
  rendered: {}, // section → what it was last drawn from, so unchanged data leaves the DOM (and any click) alone
};

/** Runs `draw` only when `data` differs from what `section` last showed. */
function renderIfChanged(section, data, draw) {
  const signature = JSON.stringify(data);
  if (state.rendered[section] === signature) return;
  state.rendered[section] = signature;
  draw();
}

// ---------- small DOM helpers (text only: names and keys are user data, never HTML) ----------

const $ = (id) => document.getElementById(id);

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return (unit === 0 ? String(value) : value.toFixed(value < 10 ? 2 : 1)) + " " + units[unit];
}

function formatTime(text) {
  if (!text) return "–";
  const date = new Date(text);
  return isNaN(date) ? text : date.toLocaleString();
}

function formatAge(seconds) {
  if (seconds === null || seconds === undefined) return "none";
  const s = Math.floor(seconds);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
}

function shortKey(key) {
  return key.length > 14 ? key.slice(0, 8) + "…" + key.slice(-4) : key;
}

// ---------- messages ----------

function showMessage(text, kind = "info", sticky = kind === "error") {
  const box = el("div", { class: "message " + kind, role: kind === "error" ? "alert" : "status" },
    el("span", { text }),
    el("button", { type: "button", "aria-label": "Dismiss", text: "×", onclick: () => box.remove() }));
  $("messages").append(box);
  while ($("messages").children.length > 5) $("messages").firstElementChild.remove();
  if (!sticky) setTimeout(() => box.remove(), 6000);
  return box;
}

function setConnection(ok, text) {
  const pill = $("connection");
  pill.className = "pill " + (ok ? "pill-ok" : "pill-bad");
  pill.textContent = text;
}

// ---------- API access ----------

/** An error answer of the gateway (SPEC §2.3) or a network failure, as one readable sentence. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  describe() {
    return this.status ? `${this.message} (${this.code}, HTTP ${this.status})` : this.message;
  }
}

function apiKey() {
  try { return localStorage.getItem(KEY_STORAGE) || ""; } catch { return ""; }
}

function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: "Bearer " + key } : {};
}

async function errorFrom(response) {
  let code = "http_" + response.status;
  let message = response.statusText || "request failed";
  try {
    const body = await response.json();
    if (body && body.error) { code = body.error; message = body.message || message; }
    if (body && Array.isArray(body.attempts) && body.attempts.length) message += " — tried: " + body.attempts.join("; ");
  } catch { /* not JSON: keep the status line */ }
  if (response.status === 401 && !state.keyDeclined) askForKey("The gateway refused the request: " + message);
  return new ApiError(response.status, code, message);
}

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...options, headers: { ...authHeaders(), ...(options.headers || {}) }, cache: "no-store",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const reason = error.name === "TimeoutError" ? "no answer within " + REQUEST_TIMEOUT_MS / 1000 + " s" : error.message;
    throw new ApiError(0, "network", "gateway unreachable (" + reason + ")");
  }
  if (!response.ok) throw await errorFrom(response);
  return response.status === 204 ? null : response.json();
}

// ---------- API key prompt ----------

function askForKey(reason) {
  if (state.keyPromptOpen) return;
  state.keyPromptOpen = true;
  $("key-reason").textContent = (reason ? reason + " " : "") + "The key is kept in this browser only (localStorage).";
  $("key-input").value = apiKey();
  $("key-dialog").showModal();
  $("key-input").focus();
}

function closeKeyDialog() {
  state.keyPromptOpen = false;
  $("key-dialog").close();
}

function wireKeyDialog() {
  $("key-button").addEventListener("click", () => askForKey(""));
  $("key-save").addEventListener("click", () => {
    try { localStorage.setItem(KEY_STORAGE, $("key-input").value.trim()); } catch { /* storage off: key unused */ }
    state.keyDeclined = false;
    closeKeyDialog();
    refreshSoon();
  });
  $("key-clear").addEventListener("click", () => {
    try { localStorage.removeItem(KEY_STORAGE); } catch { /* nothing stored */ }
    closeKeyDialog();
    refreshSoon();
  });
  $("key-cancel").addEventListener("click", () => { state.keyDeclined = true; closeKeyDialog(); });
  $("key-dialog").addEventListener("close", () => { state.keyPromptOpen = false; });
  $("key-input").addEventListener("keydown", (event) => { if (event.key === "Enter") $("key-save").click(); });
}

// ---------- refresh loop ----------

function searchQuery() {
  return $("search").value.trim().toLowerCase();
}

function queuePath() {
  const query = new URLSearchParams({ limit: String(QUEUE_ROWS) });
  if ($("queue-status").value) query.set("status", $("queue-status").value);
  if ($("queue-node").value) query.set("node_id", $("queue-node").value);
  return "/replication-queue?" + query;
}

function filesPath() {
  if (searchQuery()) return "/files?limit=" + SEARCH_WINDOW;
  const cursor = state.cursors[state.cursors.length - 1];
  return "/files?limit=" + PAGE_SIZE + (cursor ? "&after=" + encodeURIComponent(cursor) : "");
}

async function refresh() {
  if (state.refreshing) { state.refreshAgain = true; return; }
  state.refreshing = true;
  clearTimeout(state.timer);
  try {
    const results = await Promise.allSettled([
      api("/nodes"), api("/status/replication"), api(queuePath()), api(filesPath()),
    ]);
    const [nodes, status, queue, files] = results;
    if (nodes.status === "fulfilled") { state.nodes = nodes.value; renderIfChanged("nodes", state.nodes, renderNodes); }
    if (status.status === "fulfilled") {
      state.status = status.value;
      // The age ticks every second; the rest decides whether anything else changed.
      renderIfChanged("health", [state.status, $("queue-status").value], renderHealth);
    }
    if (queue.status === "fulfilled") { state.queueItems = queue.value.items; renderIfChanged("queue", [state.queueItems, state.files.length], renderQueue); }
    if (files.status === "fulfilled") {
      state.files = files.value.files;
      state.nextAfter = files.value.next_after || null;
      renderIfChanged("files", [state.files, state.nextAfter, state.status && state.status.replication_factor, searchQuery(), [...state.openDetails.keys()]], renderFiles);
    }
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
      el("span", { class: "pill node-status " + (node.status === "UP" ? "pill-ok" : "pill-bad"), text: node.status })),
    el("div", { class: "address", text: node.address }),
    el("dl", {},
      el("dt", { text: "Latency" }), el("dd", { class: "latency", text: node.latency_ms === null || node.latency_ms === undefined ? "–" : node.latency_ms.toFixed(1) + " ms" }),
      el("dt", { text: "In flight" }), el("dd", { class: "in-flight", text: String(node.in_flight ?? 0) }),
      el("dt", { text: "Free space" }), el("dd", { class: "free", text: formatBytes(node.free_bytes) }),
      el("dt", { text: "Blobs" }), el("dd", { class: "blobs", text: node.blob_count ?? "–" }),
      el("dt", { text: "Last heartbeat" }), el("dd", { text: node.last_heartbeat ? new Date(node.last_heartbeat).toLocaleTimeString() : "–" })))));
  renderNodeControls();
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

function describe(error) {
  return error instanceof ApiError ? error.describe() : String(error && error.message ? error.message : error);
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

function visibleFiles() {
  const query = searchQuery();
  if (!query) return state.files;
  return state.files.filter((file) =>
    file.original_filename.toLowerCase().includes(query) || file.file_key.toLowerCase().startsWith(query));
}

function replicationFactor() {
  return state.status ? state.status.replication_factor : 3;
}

function renderFiles() {
  const searching = searchQuery() !== "";
  const files = visibleFiles();
  const rows = [];
  for (const file of files) {
    rows.push(fileRow(file));
    if (state.openDetails.has(file.file_key)) rows.push(detailRow(file.file_key));
  }
  $("files").replaceChildren(...rows);
  $("files-empty").hidden = files.length > 0;
  $("files-empty").textContent = searching ? "No file name matches." : "No files.";
  $("search-note").hidden = !searching;
  $("pager").hidden = searching;
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
    el("td", { class: "name" }, file.original_filename, el("small", { text: file.file_key })),
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
 * Without an API key the link downloads directly (streamed to disk by the browser) after a HEAD has checked
 * the file, so an API error becomes a message, not an error page. With a key, a link cannot carry the header:
 * the file is fetched with it and saved from memory (fine for dashboard-sized files; use `dfs get` for big ones).
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
    const response = await fetch(path, { headers: authHeaders(), cache: "no-store" }).catch((error) => {
      throw new ApiError(0, "network", "gateway unreachable (" + error.message + ")");
    });
    if (!response.ok) throw await errorFrom(response);
    const url = URL.createObjectURL(await response.blob());
    saveFrom(url, file.original_filename);
    setTimeout(() => URL.revokeObjectURL(url), 60000);
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
    renderFiles(); // filter what is loaded at once, then load the search window
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

// ---------- uploads ----------

const uploadQueue = [];
let uploadsRunning = 0;

function wireUploads() {
  const zone = $("drop-zone");
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.add("dragging"); });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    enqueueUploads(event.dataTransfer ? event.dataTransfer.files : []);
  });
  // A file dropped outside the zone would make the browser navigate to it: refuse it there.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  $("file-input").addEventListener("change", (event) => {
    enqueueUploads(event.target.files);
    event.target.value = "";
  });
}

function enqueueUploads(fileList) {
  for (const file of Array.from(fileList)) {
    const progress = el("progress", { max: "100", value: "0" });
    const status = el("span", { class: "upload-status muted", text: "waiting" });
    const item = el("li", { class: "upload", dataset: { filename: file.name, state: "waiting", sawPartialProgress: "false" } },
      el("div", { class: "upload-head" }, el("span", { class: "upload-name", text: file.name }), status),
      progress,
      el("div", { class: "receipt" }));
    $("uploads").prepend(item);
    uploadQueue.push({ file, item, progress, status });
  }
  startUploads();
}

function startUploads() {
  while (uploadsRunning < UPLOADS_AT_ONCE && uploadQueue.length) {
    uploadsRunning += 1;
    upload(uploadQueue.shift()).finally(() => { uploadsRunning -= 1; startUploads(); refreshSoon(); });
  }
}

/** XMLHttpRequest, not fetch: only it reports upload progress. */
function upload({ file, item, progress, status }) {
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    const form = new FormData();
    form.append("file", file, file.name);
    request.open("POST", "/upload");
    for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
    request.responseType = "json";
    item.dataset.state = "uploading";
    status.textContent = "0 %";
    request.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.floor((event.loaded / event.total) * 100);
      progress.value = percent;
      status.textContent = `${percent} % of ${formatBytes(file.size)}`;
      if (event.loaded > 0 && event.loaded < event.total) item.dataset.sawPartialProgress = "true";
    });
    request.addEventListener("load", () => {
      const body = request.response;
      if (request.status === 200 && body) {
        progress.value = 100;
        showReceipt(item, status, body);
      } else {
        const code = body && body.error ? body.error : "http_" + request.status;
        const message = body && body.message ? body.message : request.statusText || "upload failed";
        if (request.status === 401 && !state.keyDeclined) askForKey("The gateway refused the upload: " + message);
        failUpload(item, status, new ApiError(request.status, code, message));
      }
      resolve();
    });
    request.addEventListener("error", () => { failUpload(item, status, new ApiError(0, "network", "gateway unreachable")); resolve(); });
    request.addEventListener("abort", () => { failUpload(item, status, new ApiError(0, "aborted", "upload aborted")); resolve(); });
    request.send(form);
  });
}

function failUpload(item, status, error) {
  item.classList.add("failed");
  item.dataset.state = "failed";
  status.textContent = "failed";
  item.querySelector(".receipt").replaceChildren(el("span", { class: "error", text: error.describe() }));
  showMessage("Upload of " + item.dataset.filename + " failed: " + error.describe(), "error");
}

/** The durability receipt: which nodes hold a copy whose SHA-256 the gateway checked before answering. */
function showReceipt(item, status, receipt) {
  const verified = receipt.replicas.filter((replica) => replica.verified);
  item.classList.add("done");
  item.dataset.state = "done";
  item.dataset.fileKey = receipt.file_key;
  item.dataset.verified = String(verified.length);
  status.textContent = `stored, ${verified.length} verified`;
  const chips = receipt.replicas.map((replica) => el("span", {
    class: "chip " + (replica.verified ? "verified" : "missing"),
    title: replica.checksum_sha256 ? "SHA-256 " + replica.checksum_sha256 : "no copy yet",
    text: (replica.verified ? "✓ " : "✗ ") + replica.node_id,
  }));
  const lines = [
    el("div", { class: "chips" }, chips),
    el("span", {}, "key ", el("code", { text: receipt.file_key }), ` · ${formatBytes(receipt.size_bytes)} · primary ${receipt.node_id}`),
    el("span", {}, "SHA-256 ", el("code", { text: receipt.checksum_sha256 })),
  ];
  if (receipt.replication.failed.length) lines.push(el("span", { class: "queued", text: "queued for repair: " + receipt.replication.failed.join(", ") }));
  item.querySelector(".receipt").replaceChildren(...lines);
}

// ---------- start ----------

document.addEventListener("visibilitychange", () => { if (document.hidden) clearTimeout(state.timer); else refreshSoon(); });

wireKeyDialog();
wireFiles();
wireUploads();
refresh();
