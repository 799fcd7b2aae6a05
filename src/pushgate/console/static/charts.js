// The console's two charts (docs/reports.md, "In the console"): a notification's funnel as
// SVG bars built here, and an app's time series drawn by the vendored uPlot
// (vendor/uplot/README.md), the only script that reads its global.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
// One colour per metric, the same in both charts and in the series' legend.
export const METRIC_COLOURS = {
  targeted: "#64748b",
  sent: "#2563eb",
  received: "#0891b2",
  opened: "#16a34a",
  dismissed: "#a16207",
  actioned: "#c026d3",
};
const BAR = { height: 22, gap: 8, label: 150, value: 90, width: 640 };

function svg(tag, attrs, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    element.setAttribute(name, String(value));
  }
  element.append(...children);
  return element;
}

/** The bars of a notification's funnel, in order: targeted, sent, received, opened,
 * actioned, then one bar per action tapped. `interactions` is null before any report. */
export function funnelBars(item) {
  const seen = item.interactions || { received: 0, opened: 0, actioned: 0, actions: {} };
  const sent = item.deliveries.sent || 0;
  const bars = [
    { metric: "targeted", label: "targeted", value: item.targeted },
    { metric: "sent", label: "sent", value: sent },
    { metric: "received", label: "received", value: seen.received },
    { metric: "opened", label: "opened", value: seen.opened },
    { metric: "actioned", label: "actioned", value: seen.actioned },
  ];
  for (const [key, value] of Object.entries(seen.actions || {})) {
    bars.push({ metric: "actioned", label: `action ${key}`, value, action: key });
  }
  const overSent = (bar) => sent > 0 && bar.metric !== "targeted" && bar.metric !== "sent";
  return bars.map((bar) => ({ ...bar, rate: overSent(bar) ? bar.value / sent : null }));
}

/** The funnel as horizontal bars, each scaled to the largest, its count and its rate over
 * the deliveries sent written beside it; a screen reader gets the same as a list. */
export function funnelChart(item) {
  const bars = funnelBars(item);
  const most = Math.max(1, ...bars.map((b) => b.value));
  const track = BAR.width - BAR.label - BAR.value;
  const height = bars.length * (BAR.height + BAR.gap);
  const rows = bars.map((bar, i) => {
    const y = i * (BAR.height + BAR.gap);
    const width = Math.round((bar.value / most) * track);
    const shown = bar.rate === null
      ? String(bar.value) : `${bar.value} (${Math.round(bar.rate * 100)}%)`;
    return svg("g", { class: "bar", "data-metric": bar.metric, "data-label": bar.label,
      "data-value": bar.value },
    svg("text", { x: 0, y: y + BAR.height * 0.7, class: "bar-label" }, bar.label),
    svg("rect", { x: BAR.label, y, width, height: BAR.height, rx: 2,
      fill: METRIC_COLOURS[bar.metric] }),
    svg("text", { x: BAR.label + width + 6, y: y + BAR.height * 0.7, class: "bar-value" }, shown));
  });
  const chart = svg("svg", { viewBox: `0 0 ${BAR.width} ${height}`, role: "img",
    "aria-label": bars.map((b) => `${b.label} ${b.value}`).join(", ") }, ...rows);
  return h("figure", { id: "funnel", class: "chart funnel" }, chart,
    h("figcaption", {}, "Rates are over the deliveries sent."));
}

const SERIES = ["sent", "received", "opened", "actioned"];
// Counts are whole: the y axis steps by 1, 2, 5, 10, 20, 50, … and never by halves.
const WHOLE_STEPS = Array.from({ length: 27 }, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));

/** An app's series (GET /v1/reports/apps/{app}) as lines, one per metric, with uPlot's
 * legend reading the values under the cursor. `width` is the room the page gives it. */
export function seriesChart(report, width) {
  const target = h("figure", { id: "series-chart", class: "chart series" });
  const Plot = window.uPlot;
  if (typeof Plot !== "function") {
    target.append(h("p", { class: "empty" }, "The chart library did not load."));
    return target;
  }
  const x = report.series.map((point) => Date.parse(point.at) / 1000);
  const data = [x, ...SERIES.map((metric) => report.series.map((point) => point[metric]))];
  const options = {
    width: Math.max(280, Math.min(width, 1100)),
    height: 280,
    scales: { x: { time: true }, y: { range: (_, min, max) => [0, Math.max(1, max)] } },
    series: [{ label: "time" }, ...SERIES.map((metric) => ({
      label: metric, stroke: METRIC_COLOURS[metric], width: 2,
      points: { show: report.series.length <= 60 },
    }))],
    axes: [{}, { label: report.interval === "day" ? "per day" : "per hour", incrs: WHOLE_STEPS }],
  };
  target.plot = new Plot(options, data, target);
  return target;
}
