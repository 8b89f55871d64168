// Access to the gateway's API: errors as sentences, a time limit, and the API key (with
// keys on, a 401 asks for one; it is kept in localStorage and sent as `Authorization: Bearer <key>`).
import { $ } from "./dom.js";

const KEY_STORAGE = "swiftdfs.apiKey";
// A gateway that accepts connections but never answers (stopped, overloaded) must not freeze the page on "live".
const REQUEST_TIMEOUT_MS = 10000;

const keyPrompt = { open: false, declined: false }; // declined: cancelled, so a 401 does not pop it up again

/** An error answer of the gateway or a network failure, as one readable sentence. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  describe() {
    return this.status ? `${this.message} (${this.code}, HTTP ${this.status})` : this.message;
  }
}

export function apiKey() {
  try { return localStorage.getItem(KEY_STORAGE) || ""; } catch { return ""; }
}

export function authHeaders() {
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
  if (response.status === 401) askForKeyAfterRefusal("The gateway refused the request: " + message);
  return new ApiError(response.status, code, message);
}

export async function api(path, options = {}) {
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

export function askForKey(reason) {
  if (keyPrompt.open) return;
  keyPrompt.open = true;
  $("key-reason").textContent = (reason ? reason + " " : "") + "The key is kept in this browser only (localStorage).";
  $("key-input").value = apiKey();
  $("key-dialog").showModal();
  $("key-input").focus();
}

/** After a 401: asks, unless the user cancelled the prompt before (the button still opens it). */
export function askForKeyAfterRefusal(reason) {
  if (!keyPrompt.declined) askForKey(reason);
}

function closeKeyDialog() {
  keyPrompt.open = false;
  $("key-dialog").close();
}

/** Wires the key dialog; `onKeyChanged` runs after the key was saved or forgotten. */
export function wireKeyDialog(onKeyChanged) {
  $("key-button").addEventListener("click", () => askForKey(""));
  $("key-save").addEventListener("click", () => {
    try { localStorage.setItem(KEY_STORAGE, $("key-input").value.trim()); } catch { /* storage off: key unused */ }
    keyPrompt.declined = false;
    closeKeyDialog();
    onKeyChanged();
  });
  $("key-clear").addEventListener("click", () => {
    try { localStorage.removeItem(KEY_STORAGE); } catch { /* nothing stored */ }
    closeKeyDialog();
    onKeyChanged();
  });
  $("key-cancel").addEventListener("click", () => { keyPrompt.declined = true; closeKeyDialog(); });
  $("key-dialog").addEventListener("close", () => { keyPrompt.open = false; });
  $("key-input").addEventListener("keydown", (event) => { if (event.key === "Enter") $("key-save").click(); });
}

export function describe(error) {
  return error instanceof ApiError ? error.describe() : String(error && error.message ? error.message : error);
}
