// Sign-in: the operator pastes an API key; it is kept in sessionStorage for this tab only.

import { errorBox, fill, h, onSubmit } from "../dom.js";

export function renderSignIn({ main, signIn, error }) {
  const status = h("div", { class: "status" }, error ? errorBox(error) : null);
  const form = h(
    "form",
    { id: "signin-form", class: "card narrow" },
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste an API key. It stays in this browser tab only and is sent as ",
      h("code", {}, "Authorization: Bearer"), " on each call."),
    h("label", {}, h("span", {}, "API key"),
      h("input", { type: "password", name: "key", id: "signin-key", required: true,
        autocomplete: "off", spellcheck: "false", placeholder: "pgk_…" })),
    h("button", { type: "submit", id: "signin-submit" }, "Sign in"),
    status,
  );
  onSubmit(form, status, async (data) => {
    await signIn(String(data.get("key")).trim());
  });
  fill(main, form);
  form.elements.namedItem("key").focus();
}
