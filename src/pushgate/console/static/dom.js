// Building the page. Every piece of data reaches the DOM as a text node or an attribute
// value, never as HTML: the page's CSP also requires Trusted Types, so an HTML string sink
// would throw.

/** Create an element: h("a", {href: "#/apps", class: "x", on: {click: fn}}, "text", child). */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) {
        element.addEventListener(event, handler);
      }
    } else if (value === true) {
      element.setAttribute(name, "");
    } else if (value !== false && value !== null && value !== undefined) {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything inside `element` with `children`. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A table: columns are [heading, row => cell content]. */
export function table(columns, rows, empty = "Nothing here yet.") {
  if (rows.length === 0) {
    return h("p", { class: "empty" }, empty);
  }
  const head = h("tr", {}, columns.map(([title]) => h("th", { scope: "col" }, title)));
  const body = rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))));
  return h("table", {}, h("thead", {}, head), h("tbody", {}, body));
}

/** A definition list of [term, value] pairs. */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([term, value]) => [
    h("dt", {}, term),
    h("dd", {}, value === null || value === undefined || value === "" ? "—" : value),
  ]));
}

export const code = (value) => h("code", {}, value === null || value === undefined ? "—" : value);

export function button(label, onClick, kind = "") {
  return h("button", { type: "button", class: kind, on: { click: onClick } }, label);
}

/** A box that shows an API error: its code, message and the field it names. */
export function errorBox(error) {
  const field = error.field;
  return h(
    "div",
    { class: "notice error", role: "alert" },
    h("strong", { class: "error-code" }, error.code || "error"),
    " ",
    h("span", { class: "error-message" }, error.message || String(error)),
    field ? [" ", h("span", { class: "error-field" }, "field: ", h("code", {}, field))] : null,
  );
}

export function noticeBox(message) {
  return h("div", { class: "notice ok", role: "status" }, message);
}

/** A secret shown once (a new API key, a generated signing secret) with a copy button. */
export function secretBox(label, value) {
  const output = h("input", { class: "secret-value", readonly: true, value, "aria-label": label });
  const status = h("span", { class: "copy-status", "aria-live": "polite" });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      status.textContent = "Copied.";
    } catch {
      output.select();
      status.textContent = "Selected: press Ctrl+C to copy.";
    }
  };
  return h(
    "div",
    { class: "notice secret" },
    h("p", {}, h("strong", {}, label), " — shown only now; store it before leaving this page."),
    h("div", { class: "secret-row" }, output, button("Copy", copy), status),
  );
}

/** Mark the input the server blamed, if the form has one by that name. */
export function markField(form, field) {
  for (const marked of form.querySelectorAll("[aria-invalid]")) {
    marked.removeAttribute("aria-invalid");
  }
  if (!field) {
    return;
  }
  const name = field.split(".").pop();
  const input = form.elements.namedItem(name);
  if (input instanceof Element) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

/**
 * Run `work` when `form` is submitted: the submit button is disabled meanwhile, and an
 * error is shown in `status` with the blamed field marked.
 */
export function onSubmit(form, status, work) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("[type=submit]");
    if (submit) {
      submit.disabled = true;
    }
    fill(status);
    try {
      markField(form, null);
      await work(new FormData(form));
    } catch (error) {
      fill(status, errorBox(error));
      markField(form, error.field);
    } finally {
      if (submit) {
        submit.disabled = false;
      }
    }
  });
  return form;
}

/** A labelled input; `options` become a <select>, kind "textarea" a text area. */
export function field(label, name, { kind = "text", options, value, help, required } = {}) {
  let input;
  if (options) {
    input = h("select", { name, required }, options.map((o) => h("option", { value: o }, o)));
  } else if (kind === "textarea") {
    input = h("textarea", { name, rows: 6, required, spellcheck: "false" });
  } else if (kind === "checkbox") {
    input = h("input", { type: "checkbox", name, value: value ?? "true" });
    return h("label", { class: "check" }, input, " ", label, help ? h("small", {}, help) : null);
  } else {
    input = h("input", { type: kind, name, required, autocomplete: "off", spellcheck: "false" });
  }
  if (value !== undefined && value !== null) {
    input.value = value;
  }
  return h("label", {}, h("span", {}, label), input, help ? h("small", {}, help) : null);
}

/** Ask before something that cannot be undone. */
export const sure = (question) => window.confirm(question);

/**
 * A click handler that runs `work` (null `question`: at once; else once confirmed),
 * showing an error in `status`; `work` re-renders the page on success.
 */
export function action(question, status, work) {
  return async () => {
    if (question && !sure(question)) {
      return;
    }
    try {
      await work();
    } catch (error) {
      fill(status, errorBox(error));
    }
  };
}
