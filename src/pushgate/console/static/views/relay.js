// The instances this pushgate relays pushes for (docs/relay.md), for instance admins: each
// origin's apps and quota, and today's counts by answer and quota hits.

import { api } from "../api.js";
import { fill, h, table } from "../dom.js";

const ANSWERS = ["sent", "retry", "invalid", "rejected", "quota"];

function quota(origin) {
  const limit = origin.rate_limit;
  const rate = limit ? `${limit.per_second}/s, burst ${limit.burst}` : "—";
  return origin.per_day ? `${rate}; ${origin.per_day} a day` : rate;
}

export async function renderRelay(ctx) {
  const { main } = ctx;
  const origins = await api.get(`/v1/relay/origins`);
  fill(
    main,
    h("h1", {}, "Relay origins"),
    h("p", {}, "Instances that send their pushes through this one's relay apps; counts are today's (UTC)."),
    table([
      ["Instance", (o) => h("code", {}, o.instance_id)],
      ["Name", (o) => o.instance_name],
      ["Apps", (o) => o.apps.join(", ") || "—"],
      ["Quota", quota],
      ...ANSWERS.map((name) => [name[0].toUpperCase() + name.slice(1), (o) => o.today[name] || 0]),
    ], origins, "No origins: this instance relays for no one."),
  );
}
