// API keys: list, create with scopes (the key is shown once), revoke.

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
  fill(main, h("h1", {}, "API keys"), status, scopeLink, table(columns, keys),
    createForm(me, status, done));
}
