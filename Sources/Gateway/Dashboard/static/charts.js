// Small time charts drawn as SVG by the page itself (no library, no CDN). Styling comes from classes in style.css:
// the page's Content-Security-Policy allows no inline style.

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The smallest of 1, 2, 5 × 10^k at or above `value`: round numbers for the top of an axis. */
export function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * power * (1 + 1e-9)) return step * power;
  }
  return 10 * power;
}

/** `1234` → `1.2k`, `0.5` → `0.5`: axis and legend labels that fit a small chart. */
export function compactNumber(value) {
  if (value === null || value === undefined || !isFinite(value)) return "–";
  const magnitude = Math.abs(value);
  const units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [size, suffix] of units) {
    if (magnitude >= size) return trim(value / size) + suffix;
  }
  return trim(value);
}

function trim(value) {
  const magnitude = Math.abs(value);
  const text = magnitude >= 100 ? value.toFixed(0) : magnitude >= 10 ? value.toFixed(1) : value.toFixed(magnitude >= 1 ? 1 : 2);
  return text.replace(/\.0+$/, "").replace(/(\.\d*[1-9])0+$/, "$1");
}

/**
 * Periods where `isDown(sample)` holds, as [start, end] times: each such sample covers the interval before it,
 * and neighbouring ones merge.
 */
export function downPeriods(samples, isDown, interval) {
  const periods = [];
  for (const sample of samples) {
    if (!isDown(sample)) continue;
    const start = sample.t - interval;
    const last = periods[periods.length - 1];
    if (last && start <= last[1] + interval * 0.5) last[1] = sample.t;
    else periods.push([start, sample.t]);
  }
  return periods;
}

/**
 * Draws a time chart into `container`, replacing what it held.
 * options: from, to (Unix seconds); interval (seconds between samples: a longer silence breaks a line);
 * series: [{ name, className, points: [[t, value or null], …] }]; bands: [[from, to], …] shaded (DOWN periods);
 * height (px); minimumTop (the y axis reaches at least this); format (value → label).
 */
export function drawTimeChart(container, options) {
  // Measured empty: the previous chart must not hold the box at its old width (a phone turned, a window narrowed).
  container.replaceChildren();
  const width = Math.max(120, Math.floor(container.clientWidth || 300));
  const height = options.height || 64;
  const format = options.format || compactNumber;
  let highest = options.minimumTop || 1;
  for (const series of options.series) {
    for (const [t, value] of series.points) if (value !== null && t >= options.from && value > highest) highest = value;
  }
  const yTop = niceCeiling(highest);
  const yLabels = [format(yTop), format(yTop / 2), "0"];
  // Room for the longest axis label at about 6 px a character.
  const left = Math.max(26, 8 + 6 * Math.max(...yLabels.map((label) => label.length))), right = 4, top = 6, bottom = 14;
  const plotWidth = width - left - right, plotHeight = height - top - bottom;
  const span = Math.max(1, options.to - options.from);
  const x = (t) => left + ((t - options.from) / span) * plotWidth;
  const y = (value) => top + plotHeight - (Math.min(value, yTop) / yTop) * plotHeight;

  const chart = svg("svg", {
    class: "chart", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": options.label || "",
  });
  chart.append(svg("rect", { class: "chart-plot", x: left, y: top, width: plotWidth, height: plotHeight }));
  for (const [from, to] of options.bands || []) {
    const start = Math.max(left, x(from)), end = Math.min(left + plotWidth, x(to));
    if (end <= left || start >= left + plotWidth) continue;
    chart.append(svg("rect", { class: "down-band", x: start, y: top, width: Math.max(1.5, end - start), height: plotHeight },
      svg("title", {}, "DOWN")));
  }
  for (const [fraction, label] of [[1, yLabels[0]], [0.5, yLabels[1]]]) {
    const level = top + plotHeight - fraction * plotHeight;
    chart.append(svg("line", { class: "chart-grid", x1: left, x2: left + plotWidth, y1: level, y2: level }));
    chart.append(svg("text", { class: "chart-axis", x: left - 4, y: level + 3.5, "text-anchor": "end" }, label));
  }
  chart.append(svg("text", { class: "chart-axis", x: left - 4, y: top + plotHeight + 3.5, "text-anchor": "end" }, yLabels[2]));
  const ago = span < 120 ? Math.round(span) + " s" : Math.round(span / 60) + " min";
  chart.append(svg("text", { class: "chart-axis", x: left, y: height - 2 }, "−" + ago));
  chart.append(svg("text", { class: "chart-axis", x: left + plotWidth, y: height - 2, "text-anchor": "end" }, "now"));

  const gap = (options.interval || 1) * 2.5;
  for (const series of options.series) {
    let path = "";
    let previous = null;
    for (const [t, value] of series.points) {
      if (value === null || value === undefined || t < options.from) { previous = null; continue; }
      const command = previous !== null && t - previous <= gap ? "L" : "M";
      path += `${command}${x(t).toFixed(1)},${y(value).toFixed(1)}`;
      previous = t;
    }
    if (path) chart.append(svg("path", { class: "chart-line " + series.className, d: path }, svg("title", {}, series.name)));
  }
  const first = options.series[0];
  const last = first ? [...first.points].reverse().find(([, value]) => value !== null && value !== undefined) : null;
  chart.dataset.last = last ? String(last[1]) : "";
  chart.dataset.points = String(first ? first.points.filter(([, value]) => value !== null).length : 0);
  chart.dataset.downBands = String((options.bands || []).length);
  container.replaceChildren(chart);
  return chart;
}
