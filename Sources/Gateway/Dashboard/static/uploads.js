// Uploads: drag and drop or the file picker, several at once, each with a progress bar and, when done, the
// durability receipt (which nodes hold a copy whose SHA-256 the gateway checked before answering).
import { ApiError, askForKeyAfterRefusal, authHeaders } from "./api.js";
import { $, el, formatBytes, showMessage } from "./dom.js";

const UPLOADS_AT_ONCE = 2;

const uploadQueue = [];
let uploadsRunning = 0;
let afterEachUpload = () => {};

/** Wires the drop zone and the picker; `onUploaded` runs after each upload, whatever its outcome. */
export function wireUploads(onUploaded) {
  afterEachUpload = onUploaded;
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
    upload(uploadQueue.shift()).finally(() => { uploadsRunning -= 1; startUploads(); afterEachUpload(); });
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
        if (request.status === 401) askForKeyAfterRefusal("The gateway refused the upload: " + message);
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
