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

// The API writes every time as UTC ISO 8601 with milliseconds (api/schemas.py `iso`).
const UTC_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$/;
const LOCAL_TIME = {
  year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  second: "2-digit", hourCycle: "h23", timeZoneName: "short",
};

/** "2026-12-07 21:04:05 GMT+1" in the browser's time zone, for a UTC ISO time. The
 * format is made per call: it fixes the zone when made, and the reader's may change. */
export function localTime(iso) {
  const format = new Intl.DateTimeFormat("en-CA", LOCAL_TIME);
  const parts = Object.fromEntries(
    format.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`
    + ` ${parts.timeZoneName}`;
}

/** A time as the reader's local time, with the UTC value on hover. */
export const when = (iso) =>
  h("time", { datetime: iso, title: `${iso} (UTC)` }, localTime(iso));

/** What a table cell or fact shows: an API time string becomes a local time. */
const shown = (value) => (typeof value === "string" && UTC_TIME.test(value) ? when(value) : value);

/** A table: columns are [heading, row => cell content]. It scrolls sideways in a box of
 * its own, so a wide table never widens the page on a narrow screen. */
export function table(columns, rows, empty = "Nothing here yet.") {
  if (rows.length === 0) {
    return h("p", { class: "empty" }, empty);
  }
  const head = h("tr", {}, columns.map(([title]) => h("th", { scope: "col" }, title)));
  const body = rows.map((row) =>
    h("tr", {}, columns.map(([, cell]) => h("td", {}, shown(cell(row))))));
  return h("div", { class: "table-scroll" },
    h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

/** A definition list of [term, value] pairs. */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([term, value]) => [
    h("dt", {}, term),
    h("dd", {}, value === null || value === undefined || value === "" ? "—" : shown(value)),
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

/**
 * A file picker that reads the chosen file in the browser into `target` (a text area or
 * input): as text, or as base64 for a binary file such as a PKCS#12 certificate. Nothing
 * is sent until the form is.
 */
export function fileLoader(label, target, { accept, binary = false } = {}) {
  const input = h("input", { type: "file", accept, "aria-label": label, class: "file-loader" });
  const note = h("small", { class: "file-note", "aria-live": "polite" });
  input.addEventListener("change", async () => {
    const [file] = input.files;
    if (!file) {
      return;
    }
    target.value = binary ? base64Of(new Uint8Array(await file.arrayBuffer())) : await file.text();
    target.dispatchEvent(new Event("input", { bubbles: true }));
    note.textContent = `Read ${file.name} (${file.size} bytes).`;
  });
  return h("label", { class: "file" }, h("span", {}, label), input, note);
}

function base64Of(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** Hand `blob` to the browser as a file called `filename`: an object URL of this page,
 * clicked as a download link and let go at once (the download holds its own copy). */
export function saveFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60 * 1000);
}
