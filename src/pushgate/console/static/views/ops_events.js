// Operational events, for admin keys: what pushgate itself did that an operator must know
// (credentials paused and resumed, dead letters, failed handlers, sends that reached
// nobody), newest first, filtered by kind (docs/operations.md, "Operational events").

import { api } from "../api.js";
import { fill, h, table } from "../dom.js";
import { PAGE_SIZE, choice, filterForm, pager } from "./paging.js";

const KINDS = [
  "credentials.paused",
  "credentials.resumed",
  "job.dead_lettered",
  "action_response.failed",
  "notification.failed",
];

export async function renderOpsEvents({ main, query }) {
  const page = await api.get(`/v1/operational-events`, {
    limit: PAGE_SIZE,
    kind: query.get("kind"),
    after: query.get("after"),
  });
  const details = (e) => Object.entries(e.details)
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("; ");
  fill(
    main,
    h("h1", {}, "Operational events"),
    h("p", { class: "help" },
      "What pushgate did on its own. A tenant's operational webhook receives each of them."),
    filterForm("ops-events-filter", "/ops-events",
      [choice("Kind", "kind", KINDS, query.get("kind"))]),
    table([
      ["At", (e) => e.at || "—"],
      ["Kind", (e) => e.kind],
      ["Subject", (e) => [`${e.subject.type} `, h("code", {}, e.subject.id)]],
      ["Details", details],
    ], page.items, "No operational events."),
    pager("/ops-events", query, page.next),
  );
}
