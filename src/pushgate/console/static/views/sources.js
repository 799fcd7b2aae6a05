// Inbound sources (docs/events.md, "Inbound sources"): where a host pushes its own format,
// how it is verified and mapped to a record event. Listed with the path to give the host;
// paused and resumed, deleted, and made from a JSON definition (the secret is sent once and
// never shown again).

import { api, seg } from "../api.js";
import { action, button, code, field, fill, h, noticeBox, onSubmit, table } from "../dom.js";

const EXAMPLE = {
  key: "scheduler",
  kind: "datanotifier",
  verification: { alg: "HS256", secret: "" },
  mapping: {
    name: "NotificationType",
    record_type: "appointment",
    record_id: "Appointment.Id",
    recipients: "Recipients",
  },
};

function createForm(status, done) {
  const form = h("form", { class: "inline", id: "source-create" },
    field("Definition (JSON)", "definition", {
      kind: "textarea", required: true, value: JSON.stringify(EXAMPLE, null, 2),
      help: "kind, verification, mapping, app, rate_limit: as docs/events.md describes",
    }),
    h("button", { type: "submit" }, "Create source"));
  return onSubmit(form, status, async (data) => {
    const made = await api.post(`/v1/sources`, JSON.parse(data.get("definition")));
    await done(`Source ${made.key} created: the host posts to ${made.path}.`);
  });
}

export async function renderSources(ctx) {
  const { main } = ctx;
  const status = h("div", { class: "status" });
  const done = async (message) => {
    await renderSources(ctx);
    fill(main.querySelector(".status"), noticeBox(message));
  };
  const pause = (source) => action(null, status, async () => {
    await api.patch(`/v1/sources/${seg(source.key)}`, { paused: !source.paused });
    await done(`Source ${source.key} ${source.paused ? "resumed" : "paused"}.`);
  });
  const remove = (source) => action(`Delete source ${source.key}?`, status, async () => {
    await api.delete(`/v1/sources/${seg(source.key)}`);
    await done(`Source ${source.key} deleted.`);
  });
  const page = await api.get(`/v1/sources`, { limit: 500 });
  fill(main, h("h1", {}, "Inbound sources"),
    h("p", { class: "help" },
      "Hosts that push their own format: each request is verified by its source "
      + "(a JWT or a Standard Webhooks signature), no API key, and becomes a record event."),
    status, createForm(status, done),
    table([
      ["Key", (s) => s.key],
      ["Kind", (s) => s.kind],
      ["Path", (s) => code(s.path)],
      ["Verified by", (s) => s.verification.alg || "signature"],
      ["App", (s) => s.app || "every app"],
      ["Paused", (s) => (s.paused ? "yes" : "no")],
      ["", (s) => [button(s.paused ? "Resume" : "Pause", pause(s)), " ",
        button("Delete", remove(s), "danger")]],
    ], page.items, "No sources yet."));
}
