// Small DOM helpers of the dashboard. Text only: names and keys are user data, never parsed as HTML.

export const $ = (id) => document.getElementById(id);

export function el(tag, attributes, ...children) {
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

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return (unit === 0 ? String(value) : value.toFixed(value < 10 ? 2 : 1)) + " " + units[unit];
}

export function formatTime(text) {
  if (!text) return "–";
  const date = new Date(text);
  return isNaN(date) ? text : date.toLocaleString();
}

export function formatAge(seconds) {
  if (seconds === null || seconds === undefined) return "none";
  const s = Math.floor(seconds);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
}

export function shortKey(key) {
  return key.length > 14 ? key.slice(0, 8) + "…" + key.slice(-4) : key;
}

// ---------- messages ----------

export function showMessage(text, kind = "info", sticky = kind === "error") {
  const box = el("div", { class: "message " + kind, role: kind === "error" ? "alert" : "status" },
    el("span", { text }),
    el("button", { type: "button", "aria-label": "Dismiss", text: "×", onclick: () => box.remove() }));
  $("messages").append(box);
  while ($("messages").children.length > 5) $("messages").firstElementChild.remove();
  if (!sticky) setTimeout(() => box.remove(), 6000);
  return box;
}

export function setConnection(ok, text) {
  const pill = $("connection");
  pill.className = "pill " + (ok ? "pill-ok" : "pill-bad");
  pill.textContent = text;
}
