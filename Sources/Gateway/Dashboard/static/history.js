// The charts' data: the gateway's recent samples (GET /status/history), kept here and extended by each poll with
// only what is new (`?since=` the newest time received), so the page polls no more often than before.
import { $, el, formatBytes } from "./dom.js";
import { compactNumber, downPeriods, drawTimeChart } from "./charts.js";

const local = {
  interval: 1,
  window: 300,
  newest: null, // the newest sample time received, sent back as `since`
  nodes: new Map(), // node id → samples
  traffic: [],
  replication: [],
};

export function historyPath() {
  return "/status/history" + (local.newest === null ? "" : "?since=" + local.newest);
}

/** Adds an answer's samples and forgets those older than the gateway's window. */
export function mergeHistory(answer) {
  local.interval = answer.interval_seconds || 1;
  local.window = answer.window_seconds || 300;
  let newest = local.newest;
  const note = (samples) => { for (const sample of samples) if (newest === null || sample.t > newest) newest = sample.t; };
  for (const node of answer.nodes) {
    const kept = local.nodes.get(node.id) || [];
    kept.push(...node.samples);
    local.nodes.set(node.id, kept);
    note(node.samples);
  }
  local.traffic.push(...answer.cluster.traffic);
  local.replication.push(...answer.cluster.replication);
  note(answer.cluster.traffic);
  note(answer.cluster.replication);
  local.newest = newest;
  if (newest === null) return;
  const oldest = newest - local.window;
  const trim = (samples) => { let drop = 0; while (drop < samples.length && samples[drop].t < oldest) drop += 1; if (drop) samples.splice(0, drop); };
  for (const [id, samples] of local.nodes) { trim(samples); if (!samples.length) local.nodes.delete(id); }
  trim(local.traffic);
  trim(local.replication);
}

/** The time the charts show: the gateway's window, or less while it has not been up that long (at least a minute). */
function span() {
  const to = local.newest === null ? Date.now() / 1000 : local.newest;
  let oldest = to;
  for (const samples of [...local.nodes.values(), local.traffic, local.replication]) {
    if (samples.length && samples[0].t < oldest) oldest = samples[0].t;
  }
  return { from: Math.max(to - local.window, Math.min(oldest, to - 60)), to, interval: local.interval };
}

const NODE_CHARTS = [
  { key: "latency", title: "Latency", unit: " ms", value: (s) => s.latency_ms, minimumTop: 1 },
  { key: "requests", title: "Requests/s", unit: "", value: (s) => s.requests_per_second, minimumTop: 1 },
  { key: "in-flight", title: "In flight", unit: "", value: (s) => s.in_flight, minimumTop: 1 },
];

/** One small chart per measure in every node card's `.node-charts`, DOWN periods shaded. */
export function drawNodeCharts() {
  const range = span();
  for (const container of document.querySelectorAll(".node-charts")) {
    const samples = local.nodes.get(container.dataset.chartsFor) || [];
    const bands = downPeriods(samples, (sample) => !sample.up, range.interval);
    const latest = samples[samples.length - 1];
    const figures = NODE_CHARTS.map((chart) => {
      const current = latest ? chart.value(latest) : null;
      const text = current === null || current === undefined ? "–" : compactNumber(current) + chart.unit;
      return chartFigure("mini-chart chart-" + chart.key, chart.title, text, null, {
        ...range, height: 52, bands, minimumTop: chart.minimumTop, label: chart.title,
        series: [{ name: chart.title, className: "series-0", points: samples.map((s) => [s.t, chart.value(s) ?? null]) }],
      });
    });
    container.replaceChildren(...figures.map((figure) => figure.element));
    for (const figure of figures) figure.draw();
  }
}

/** A captioned figure whose chart is drawn by `draw()` once the figure is in the page (the chart takes its width). */
function chartFigure(className, title, now, legend, options) {
  const box = el("div", { class: className });
  const element = el("figure", { class: "chart-figure" },
    el("figcaption", {}, title, el("span", { class: "chart-now", text: now })), box, legend);
  return { element, draw: () => drawTimeChart(box, options) };
}

const QUEUE_STATES = ["PENDING", "IN_PROGRESS", "FAILED"];

/** The cluster charts of the Activity section. */
export function drawClusterCharts() {
  const range = span();
  const traffic = local.traffic, replication = local.replication;
  const latestTraffic = traffic[traffic.length - 1], latestReplication = replication[replication.length - 1];
  const charts = [
    {
      key: "transfers", title: "Uploads and downloads per second", series: [
        { name: "uploads/s", className: "series-0", points: traffic.map((s) => [s.t, s.uploads_per_second]) },
        { name: "downloads/s", className: "series-1", points: traffic.map((s) => [s.t, s.downloads_per_second]) },
        { name: "5xx errors/s", className: "series-bad", points: traffic.map((s) => [s.t, s.server_errors_per_second]) },
      ],
      now: latestTraffic ? `${compactNumber(latestTraffic.uploads_per_second)} up · ${compactNumber(latestTraffic.downloads_per_second)} down` : "–",
    },
    {
      key: "bytes", title: "Bytes per second", format: (v) => (v ? formatBytes(v).replace(" ", "").replace("iB", "") : "0"), series: [
        { name: "received", className: "series-0", points: traffic.map((s) => [s.t, s.received_bytes_per_second]) },
        { name: "sent", className: "series-1", points: traffic.map((s) => [s.t, s.sent_bytes_per_second]) },
      ],
      now: latestTraffic ? `${formatBytes(latestTraffic.received_bytes_per_second)}/s in · ${formatBytes(latestTraffic.sent_bytes_per_second)}/s out` : "–",
    },
    {
      key: "queue", title: "Queue by state", series: QUEUE_STATES.map((state, index) => ({
        name: state, className: "series-" + (state === "FAILED" ? "bad" : index), points: replication.map((s) => [s.t, s.queue[state] ?? 0]),
      })),
      now: latestReplication ? QUEUE_STATES.map((state) => `${state} ${latestReplication.queue[state] ?? 0}`).join(" · ") : "–",
    },
    {
      key: "under-replicated", title: "Files below replication factor", series: [
        { name: "files", className: "series-bad", points: replication.map((s) => [s.t, s.under_replicated_files]) },
      ],
      now: latestReplication ? String(latestReplication.under_replicated_files) : "–",
    },
  ];
  const figures = charts.map((chart) => {
    const legend = chart.series.length > 1
      ? el("div", { class: "chart-legend" }, chart.series.map((series) => el("span", { class: "legend-" + series.className, text: series.name })))
      : null;
    return chartFigure("cluster-chart chart-" + chart.key, chart.title, chart.now, legend,
      { ...range, height: 110, series: chart.series, label: chart.title, format: chart.format });
  });
  $("activity-charts").replaceChildren(...figures.map((figure) => figure.element));
  for (const figure of figures) figure.draw();
}
