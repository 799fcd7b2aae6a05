// Cursor paging and filters kept in the hash (#/users?after=…), so Back returns to the
// earlier page.

import { h } from "../dom.js";

export const PAGE_SIZE = 50;

/** Links to the first and the next page of a listing at `path` with its `query`. */
export function pager(path, query, next) {
  const first = new URLSearchParams(query);
  first.delete("after");
  const links = [];
  if (query.get("after")) {
    links.push(h("a", { href: `#${path}?${first}`, class: "page-first" }, "First page"));
  }
  if (next) {
    const following = new URLSearchParams(query);
    following.set("after", next);
    links.push(h("a", { href: `#${path}?${following}`, class: "page-next" }, "Next page"));
  }
  return h("nav", { class: "pager" }, links);
}

/** A labelled filter choice among `values`, or "any" (the empty value). */
export function choice(label, name, values, current) {
  const select = h("select", { name, "aria-label": label },
    h("option", { value: "" }, `any ${label.toLowerCase()}`),
    values.map((v) => h("option", { value: v }, v)));
  select.value = current || "";
  return h("label", {}, h("span", {}, label), select);
}

/** A filter form whose choices go into the hash (#path?…), so Back and reload keep them. */
export function filterForm(id, path, fields) {
  const form = h("form", { class: "inline filters", id }, fields,
    h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (value) {
        chosen.set(name, String(value));
      }
    }
    location.hash = `#${path}?${chosen}`;
  });
  return form;
}
