// An app's dashboard (docs/reports.md, "In the console"): sent, received, opened and
// actioned per hour or day over a chosen range, optionally of one notification type, its
// totals, the notifications opened best, and the series as a CSV download.

import { ApiError, api, seg } from "../api.js";
import { action, button, errorBox, fill, h, saveFile, table } from "../dom.js";
import { seriesChart } from "../charts.js";

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
// Quick ranges: [label, how far back, interval]. The API refuses more than 2,000
// intervals, so the long ranges are read per day.
const PRESETS = [
  ["Last 24 hours", DAY_MS, "hour"],
  ["Last 7 days", 7 * DAY_MS, "hour"],
  ["Last 30 days", 30 * DAY_MS, "day"],
  ["Last 90 days", 90 * DAY_MS, "day"],
];
const TOTALS = ["sent", "received", "opened", "dismissed", "actioned"];

/** The report's parameters as the hash holds them (#/apps/shop/reports?from=…). */
function reportQuery(query) {
  return { from: query.get("from"), to: query.get("to"),
    interval: query.get("interval") || "hour", type: query.get("type") };
}

const day = (iso) => (iso ? iso.slice(0, 10) : "");
const percent = (rate) => `${Math.round(rate * 1000) / 10}%`;

function presetLinks(path, chosen) {
  return h("p", { class: "presets" }, PRESETS.map(([label, back, interval]) => {
    const wanted = new URLSearchParams({ from: new Date(Date.now() - back).toISOString(), interval });
    if (chosen.type) {
      wanted.set("type", chosen.type);
    }
    return [h("a", { href: `#${path}?${wanted}`, class: "preset" }, label), " "];
  }));
}

/** From and to as whole UTC days (to inclusive), the interval and the type. */
function rangeForm(path, report, types, chosen) {
  const lastDay = new Date(Date.parse(report.to) - 1).toISOString();
  const form = h("form", { class: "inline filters", id: "report-range" },
    h("label", {}, h("span", {}, "From (UTC)"),
      h("input", { type: "date", name: "from", value: day(report.from), required: true })),
    h("label", {}, h("span", {}, "To (UTC)"),
      h("input", { type: "date", name: "to", value: day(lastDay), required: true })),
    h("label", {}, h("span", {}, "Interval"),
      h("select", { name: "interval" }, ["hour", "day"].map((i) => h("option", { value: i }, i)))),
    h("label", {}, h("span", {}, "Type"),
      h("select", { name: "type" }, h("option", { value: "" }, "all types"),
        types.map((t) => h("option", { value: t.key }, t.key)))),
    h("button", { type: "submit" }, "Show"));
  form.elements.interval.value = report.interval;
  form.elements.type.value = chosen.type || "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const end = new Date(Date.parse(`${data.get("to")}T00:00:00Z`) + DAY_MS);
    const wanted = new URLSearchParams({ from: `${data.get("from")}T00:00:00Z`,
      to: end.toISOString(), interval: String(data.get("interval")) });
    if (data.get("type")) {
      wanted.set("type", String(data.get("type")));
    }
    location.hash = `#${path}?${wanted}`;
  });
  return form;
}

function topTable(top) {
  return table([
    ["Notification", (t) => h("a", { href: `#/notifications/${seg(t.notification)}` },
      h("code", {}, t.notification))],
    ["Type", (t) => t.type || "—"],
    ["Created", (t) => t.created_at || "—"],
    ["Sent", (t) => t.sent],
    ["Opened", (t) => t.opened],
    ["Open rate", (t) => percent(t.open_rate)],
  ], top, "No notification was sent in this range.");
}

export async function renderAppReports({ main, params, query }) {
  const [name] = params;
  const chosen = reportQuery(query);
  const path = `/apps/${seg(name)}/reports`;
  const crumbs = h("p", { class: "crumbs" }, h("a", { href: "#/apps" }, "Apps"), " / ",
    h("a", { href: `#/apps/${seg(name)}` }, name), " / reports");
  let report;
  try {
    report = await api.get(`/v1/reports/apps/${seg(name)}`, chosen);
  } catch (error) {
    // A range the API refuses (more than 2,000 intervals, from after to): say why and
    // offer the quick ranges, which always fit.
    if (!(error instanceof ApiError) || error.status !== 422) {
      throw error;
    }
    fill(main, crumbs, h("h1", {}, "Reports of ", name), errorBox(error),
      presetLinks(path, chosen));
    return;
  }
  const types = (await api.get(`/v1/apps/${seg(name)}/types`, { limit: 500 })).items;
  const status = h("div", { class: "status" });
  const download = action(null, status, async () => {
    const csv = await api.get(`/v1/reports/apps/${seg(name)}/series.csv`, chosen, "blob");
    saveFile(csv, `${name}-${report.interval}-${day(report.from)}.csv`);
  });
  const chart = h("div", { id: "series" });
  fill(main,
    crumbs,
    h("h1", {}, "Reports of ", name),
    status,
    presetLinks(path, chosen),
    rangeForm(path, report, types, chosen),
    h("h2", {}, `Per ${report.interval}`, report.type ? ` (type ${report.type})` : ""),
    chart,
    h("dl", { class: "facts", id: "report-totals" }, TOTALS.map((metric) => [
      h("dt", {}, metric), h("dd", { "data-metric": metric }, report.totals[metric] ?? 0)])),
    h("p", {}, button("Download the series (CSV)", download)),
    h("h2", {}, "Opened best"),
    h("div", { id: "report-top" }, topTable(report.top)),
  );
  // The chart is sized to the room the page gives it, known once the page is laid out.
  chart.append(seriesChart(report, chart.clientWidth));
}
