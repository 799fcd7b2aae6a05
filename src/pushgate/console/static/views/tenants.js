// Tenants: every instance admin can create, rename and delete them; other keys see their own.
// Their limits are shown here and set through the API or the command line.

import { api, seg, session } from "../api.js";
import { action, button, fill, h, noticeBox, onSubmit, table } from "../dom.js";
import { shownLimit } from "./keys.js";

function renameForm(tenant, status, done) {
  const form = h(
    "form",
    { class: "inline" },
    h("input", { name: "name", value: tenant.name, required: true, "aria-label": "New name" }),
    h("button", { type: "submit" }, "Rename"),
  );
  return onSubmit(form, status, async (data) => {
    const renamed = await api.patch(`/v1/tenants/${seg(tenant.name)}`, { name: data.get("name") });
    if (session.tenant() === tenant.name) {
      session.chooseTenant(renamed.name);
    }
    await done(`Tenant ${tenant.name} is now ${renamed.name}.`);
  });
}

function remove(tenant, status, done) {
  return action(`Delete tenant ${tenant.name} and everything in it?`, status, async () => {
    await api.delete(`/v1/tenants/${seg(tenant.name)}`);
    if (session.tenant() === tenant.name) {
      session.chooseTenant("default");
    }
    await done(`Tenant ${tenant.name} deleted.`);
  })();
}

function createForm(status, done) {
  const form = h(
    "form",
    { class: "inline", id: "tenant-create" },
    h("input", { name: "name", required: true, placeholder: "name", "aria-label": "Name" }),
    h("button", { type: "submit" }, "Create tenant"),
  );
  return onSubmit(form, status, async (data) => {
    const made = await api.post(`/v1/tenants`, { name: data.get("name") });
    await done(`Tenant ${made.name} created.`);
  });
}

export async function renderTenants(ctx) {
  const { main, me } = ctx;
  const status = h("div", { class: "status" });
  const done = async (message) => {
    await ctx.reloadTenants();
    await renderTenants(ctx);
    fill(main.querySelector(".status"), noticeBox(message));
  };
  const tenants = await api.get(`/v1/tenants`, { tenant: null });
  const manage = me.isInstanceAdmin;
  const columns = [
    ["Name", (t) => t.name],
    ["Id", (t) => h("code", {}, t.id)],
    ["Rate limit", (t) => shownLimit(t.rate_limit)],
    ["Sends", (t) => shownLimit(t.send_rate_limit)],
    ["Deliveries a day", (t) => t.deliveries_per_day ?? "—"],
    ["Created", (t) => t.created_at || "—"],
  ];
  if (manage) {
    columns.push(["", (t) => t.name === "default" ? h("small", {}, "always present") : [
      renameForm(t, status, done),
      button("Delete", () => remove(t, status, done), "danger"),
    ]]);
  }
  fill(
    main,
    h("h1", {}, "Tenants"),
    manage ? null : h("p", {}, "Only an instance-wide admin key can manage tenants."),
    status,
    manage ? createForm(status, done) : null,
    table(columns, tenants),
  );
}
