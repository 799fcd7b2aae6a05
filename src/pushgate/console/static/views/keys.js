// API keys: list, create with scopes (the key is shown once), limit, revoke.

import { api, seg, session } from "../api.js";
import { action, button, field, fill, h, noticeBox, onSubmit, secretBox, table }
  from "../dom.js";

const SCOPES = ["admin", "send", "devices:register", "relay"];

function tenantName(me, tenantId) {
  if (tenantId === null) {
    return h("strong", {}, "instance-wide");
  }
  const found = me.tenants.find((t) => t.id === tenantId);
  return found ? found.name : h("code", {}, tenantId);
}

function createForm(me, status, done) {
  const form = h(
    "form",
    { class: "card", id: "key-create" },
    h("h2", {}, "New key"),
    field("Name", "name", { required: true }),
    h("fieldset", {}, h("legend", {}, "Scopes"),
      SCOPES.map((scope) => field(scope, "scopes", { kind: "checkbox", value: scope })),
    ),
    me.isInstanceAdmin
      ? field("Instance-wide admin key", "instance_wide", {
        kind: "checkbox", help: "acts in every tenant; needs exactly the admin scope" })
      : null,
    h("button", { type: "submit" }, "Create key"),
  );
  return onSubmit(form, status, async (data) => {
    const body = { name: data.get("name"), scopes: data.getAll("scopes") };
    if (data.get("instance_wide")) {
      body.instance_wide = true;
    } else if (me.isInstanceAdmin && session.tenant()) {
      body.tenant = session.tenant();
    }
    const made = await api.post(`/v1/keys`, body);
    await done(secretBox(`API key ${made.name}`, made.key));
  });
}

/** A rate limit as the lists show it: "5/s, burst 5", or "—" for none. */
export function shownLimit(limit) {
  return limit ? `${limit.per_second}/s, burst ${limit.burst}` : "—";
}

/** Set a key's rate limit (requests a second, burst), or clear it with empty fields. */
function limitForm(key, status, done) {
  const number = (name, label, step, value) => h("input", {
    name, type: "number", min: step, step, value: value ?? "", placeholder: label,
    "aria-label": label, class: "short",
  });
  const form = h(
    "form",
    { class: "inline key-limit", "data-key": key.id },
    number("per_second", "per second", "any", key.rate_limit?.per_second),
    number("burst", "burst", "1", key.rate_limit?.burst),
    h("button", { type: "submit" }, key.rate_limit ? "Change" : "Limit"),
  );
  return onSubmit(form, status, async (data) => {
    const perSecond = data.get("per_second");
    const burst = data.get("burst");
    const limit = perSecond === "" && burst === ""
      ? null
      : { per_second: Number(perSecond), burst: Number(burst) };
    const changed = await api.patch(`/v1/keys/${seg(key.id)}`, { rate_limit: limit });
    await done(noticeBox(`Key ${changed.name}: rate limit ${shownLimit(changed.rate_limit)}.`));
  });
}

function revoke(key, status, done) {
  const question = `Revoke key ${key.name} (${key.prefix})? Callers using it are refused at once.`;
  return action(question, status, async () => {
    await api.delete(`/v1/keys/${seg(key.id)}`);
    await done(noticeBox(`Key ${key.name} revoked.`));
  })();
}

export async function renderKeys(ctx) {
  const { main, me, query } = ctx;
  const everyTenant = me.isInstanceAdmin && query.get("all") === "1";
  const keys = await api.get(`/v1/keys`, everyTenant ? { tenant: null } : {});
  const status = h("div", { class: "status" });
  const done = async (shown) => {
    await renderKeys(ctx);
    fill(main.querySelector(".status"), shown);
  };
  const columns = [
    ["Name", (k) => k.name],
    ["Prefix", (k) => h("code", {}, k.prefix)],
    ["Tenant", (k) => tenantName(me, k.tenant_id)],
    ["Scopes", (k) => k.scopes.join(", ")],
    ["Rate limit", (k) => k.revoked_at ? shownLimit(k.rate_limit) : [
      h("span", { class: "limit" }, shownLimit(k.rate_limit)), " ", limitForm(k, status, done),
    ]],
    ["Created", (k) => k.created_at || "—"],
    ["Revoked", (k) => k.revoked_at || "—"],
    ["", (k) => k.revoked_at ? null : [
      k.prefix === me.prefix ? h("small", {}, "this key ") : null,
      button("Revoke", () => revoke(k, status, done), "danger"),
    ]],
  ];
  const scopeLink = me.isInstanceAdmin
    ? h("p", {}, everyTenant
      ? h("a", { href: "#/keys" }, "Show keys of the picked tenant only")
      : h("a", { href: "#/keys?all=1" }, "Show keys of every tenant (and instance-wide keys)"))
    : null;
  const limitHelp = h("p", {}, h("small", {},
    "A rate limit is requests a second with a burst; empty fields remove it."));
  fill(main, h("h1", {}, "API keys"), status, scopeLink, limitHelp, table(columns, keys),
    createForm(me, status, done));
}
