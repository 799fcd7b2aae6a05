// The delivery queue, for instance admins: jobs per kind and state, the dead letters with
// why they failed, and sending a dead job through the workers again.

import { api, seg } from "../api.js";
import { action, button, fill, h, noticeBox, table } from "../dom.js";

const KINDS = ["fanout", "send"];

export async function renderQueue(ctx) {
  const { main } = ctx;
  const depth = await api.get(`/v1/queue`);
  const dead = await Promise.all(KINDS.map((kind) => api.get(`/v1/queue/${seg(kind)}/dead`)));
  const status = h("div", { class: "status" });
  const retry = (job) => action(null, status, async () => {
    await api.post(`/v1/queue/${seg(job.kind)}/dead/${seg(job.id)}/retry`);
    await renderQueue(ctx);
    fill(main.querySelector(".status"), noticeBox(`Job ${job.id} queued again.`));
  });
  const kinds = Object.entries(depth.kinds).map(([kind, counts]) => ({ kind, ...counts }));
  fill(
    main,
    h("h1", {}, "Queue"),
    status,
    table([
      ["Kind", (r) => r.kind],
      ["Ready", (r) => r.ready],
      ["Delayed", (r) => r.delayed],
      ["Leased", (r) => r.leased],
      ["Dead", (r) => r.dead],
    ], kinds),
    h("h2", {}, "Dead letters"),
    table([
      ["Job", (j) => h("code", {}, j.id)],
      ["Kind", (j) => j.kind],
      ["Notification", (j) => (j.notification_id
        ? h("a", { href: `#/notifications/${seg(j.notification_id)}` }, h("code", {}, j.notification_id))
        : "—")],
      ["Attempts", (j) => j.attempts],
      ["Failed", (j) => j.failed_at || "—"],
      ["Reason", (j) => j.reason],
      ["", (j) => button("Retry", retry(j), "quiet")],
    ], dead.flat(), "No dead letters."),
  );
}
