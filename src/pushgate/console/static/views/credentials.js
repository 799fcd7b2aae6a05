// Provider credentials of one app: what is set (public values and fingerprints, never
// secrets), a form per provider kind that PUTs its JSON body, and removal.
// The fields mirror the API's validators (README: provider credentials).

import { api, seg } from "../api.js";
import { action, button, facts, field, fileLoader, fill, h, noticeBox, onSubmit, secretBox }
  from "../dom.js";

const BASE_URL = ["base_url", "Base URL override", { help: "only to point at a local simulator" }];
const TOKEN_URL = ["token_url", "OAuth token URL override", {}];

export const KINDS = {
  apns: {
    title: "Apple Push Notification service",
    help: "Token auth: team id, key id and the .p8 private key. "
      + "Certificate auth: the PKCS#12 file as base64 and its password.",
    fields: [
      ["bundle_id", "Bundle id (the apns-topic)", { required: true }],
      ["environment", "Environment", { options: ["production", "sandbox"] }],
      ["team_id", "Team id", {}],
      ["key_id", "Key id", {}],
      ["private_key", "Private key (.p8, PEM)",
        { kind: "textarea", file: { label: "Load the .p8 file", accept: ".p8,.pem,.txt" } }],
      ["certificate_p12", "Certificate (PKCS#12, base64)", {
        kind: "textarea",
        file: { label: "Load the .p12 file", accept: ".p12,.pfx", binary: true },
      }],
      ["certificate_password", "Certificate password", { kind: "password" }],
      BASE_URL,
    ],
  },
  fcm: {
    title: "Firebase Cloud Messaging",
    help: "Paste the service account JSON downloaded from the Firebase console, or load the file.",
    fields: [
      ["service_account", "Service account JSON", {
        kind: "textarea", required: true,
        file: { label: "Load the service account .json file", accept: ".json,application/json" },
      }],
      BASE_URL,
    ],
  },
  webpush: {
    title: "Web Push (VAPID)",
    help: "Give a VAPID private key, or tick generate to make a new pair.",
    fields: [
      ["subject", "Subject", { required: true, help: "mailto:ops@example.com or https://…" }],
      ["generate", "Generate a new VAPID key pair", { kind: "checkbox" }],
      ["vapid_private_key", "VAPID private key (PEM or base64url)",
        { kind: "textarea", file: { label: "Load a PEM file", accept: ".pem,.txt" } }],
    ],
  },
  wns: {
    title: "Windows Notification Service",
    help: "The package SID and client secret of the app's registration.",
    fields: [
      ["package_sid", "Package SID", { required: true, help: "ms-app://s-1-15-2-…" }],
      ["client_secret", "Client secret", { kind: "password", required: true }],
      TOKEN_URL,
      BASE_URL,
    ],
  },
  hms: {
    title: "Huawei Push Kit",
    help: "The app id and client secret from AppGallery Connect.",
    fields: [
      ["app_id", "App id", { required: true }],
      ["client_secret", "Client secret", { kind: "password", required: true }],
      TOKEN_URL,
      BASE_URL,
    ],
  },
  webhook: {
    title: "Signed webhook",
    help: "Deliveries are POSTed as JSON to the URL, signed the Standard Webhooks way.",
    fields: [
      ["url", "Target URL", { help: "https:// (loopback only if allowed); empty: the tenant's webhook.url setting" }],
      ["authorization", "Authorization header value", { kind: "password" }],
      ["signing_secret", "Signing secret (whsec_…)", { kind: "password" }],
      ["generate_signing_secret", "Generate a signing secret", { kind: "checkbox" }],
      ["user_agent", "User-Agent", {}],
      ["timeout_seconds", "Timeout (seconds)", { kind: "number", help: "1–60, default 10" }],
      ["answer_mode", "Answer mode", { options: ["plain", "contract"] }],
    ],
  },
};

/** The JSON body of one kind's form: empty inputs are left out, ticks become true. */
export function credentialBody(kind, data) {
  const body = {};
  for (const [name, , options] of KINDS[kind].fields) {
    const value = data.get(name);
    if (options.kind === "checkbox") {
      if (value) {
        body[name] = true;
      }
    } else if (typeof value === "string" && value.trim() !== "") {
      body[name] = options.kind === "number" ? Number.parseInt(value, 10) : value;
    }
  }
  return body;
}

function kindForm(app, kind, status, done) {
  const spec = KINDS[kind];
  const form = h(
    "form",
    { class: "card", id: `credentials-${kind}` },
    h("h3", {}, spec.title, " ", h("code", {}, kind)),
    h("p", { class: "help" }, spec.help),
    spec.fields.map(([name, label, options]) => field(label, name, options)),
    h("button", { type: "submit" }, `Save ${kind} credentials`),
  );
  // A key file is read in the browser into its field, to be checked and sent with the
  // form: the file itself is never uploaded, only the JSON body the API takes.
  for (const [name, , options] of spec.fields) {
    if (options.file) {
      const target = form.elements.namedItem(name);
      target.closest("label").after(fileLoader(options.file.label, target, options.file));
    }
  }
  return onSubmit(form, status, async (data) => {
    const saved = await api.put(
      `/v1/apps/${seg(app)}/credentials/${seg(kind)}`, credentialBody(kind, data));
    form.reset();
    const shown = Object.entries(saved.generated || {}).map(([name, value]) =>
      secretBox(`Generated ${kind} ${name}`, value));
    await done([noticeBox(`${kind} credentials saved.`), ...shown]);
  });
}

function credentialCard(app, item, status, done) {
  const remove = action(`Remove the ${item.kind} credentials of ${app}?`, status, async () => {
    await api.delete(`/v1/apps/${seg(app)}/credentials/${seg(item.kind)}`);
    await done([noticeBox(`${item.kind} credentials removed.`)]);
  });
  const values = Object.entries(item.values).map(([k, v]) => [k, h("code", {}, String(v))]);
  const prints = Object.entries(item.fingerprints).map(([k, v]) => [
    `${k} (secret)`, h("code", { class: "fingerprint" }, v)]);
  return h(
    "div",
    { class: "card credential", "data-kind": item.kind },
    h("h3", {}, item.kind),
    facts([["fields set", item.fields_set.join(", ")], ...values, ...prints,
      ["updated", item.updated_at]]),
    button(`Remove ${item.kind}`, remove, "danger"),
  );
}

/** The credentials section of an app's page; `kind` is the provider form shown first. */
export async function credentialsSection(app, rerender, kind = "apns") {
  const status = h("div", { class: "status", id: "credentials-status" });
  const set = await api.get(`/v1/apps/${seg(app)}/credentials`);
  const picker = h("select", { "aria-label": "Provider kind", id: "credentials-kind" },
    Object.keys(KINDS).map((k) => h("option", { value: k }, `${k} — ${KINDS[k].title}`)));
  picker.value = kind;
  const done = async (shown) => {
    const section = await rerender(picker.value);
    fill(section.querySelector("#credentials-status"), ...shown);
  };
  const holder = h("div", {});
  const showForm = () => fill(holder, kindForm(app, picker.value, status, done));
  picker.addEventListener("change", showForm);
  showForm();
  return h(
    "section",
    { id: "credentials" },
    h("h2", {}, "Credentials"),
    status,
    set.length ? h("div", { class: "cards" }, set.map((c) => credentialCard(app, c, status, done)))
      : h("p", { class: "empty" }, "No provider credentials are set."),
    h("h3", {}, "Set or replace credentials"),
    h("label", { class: "block" }, h("span", {}, "Provider"), picker),
    holder,
  );
}
