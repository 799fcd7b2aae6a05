// The console's only way to the server: fetch against /v1 with the operator's API key.
// The key lives in sessionStorage (gone when the tab closes), never in a cookie or the URL.

const KEY_ITEM = "pushgate.console.key";
const TENANT_ITEM = "pushgate.console.tenant";

export const session = {
  key: () => sessionStorage.getItem(KEY_ITEM),
  tenant: () => sessionStorage.getItem(TENANT_ITEM),
  signIn(key) {
    sessionStorage.setItem(KEY_ITEM, key);
  },
  chooseTenant(name) {
    if (name) {
      sessionStorage.setItem(TENANT_ITEM, name);
    } else {
      sessionStorage.removeItem(TENANT_ITEM);
    }
  },
  signOut() {
    sessionStorage.removeItem(KEY_ITEM);
    sessionStorage.removeItem(TENANT_ITEM);
  },
};

/** An answer in pushgate's one error shape: {"error": {"code", "message", "details"}}. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }

  /** The field the server blames: `details.field`, or the first of `details.errors`. */
  get field() {
    if (typeof this.details.field === "string") {
      return this.details.field;
    }
    const first = Array.isArray(this.details.errors) ? this.details.errors[0] : null;
    return first && typeof first.field === "string" ? first.field : null;
  }
}

/** Encode one path segment (names, external ids, device ids). */
export const seg = (value) => encodeURIComponent(String(value));

function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") {
      params.set(name, String(value));
    }
  }
  // An instance-wide admin acts in the tenant picked in the header (README: ?tenant=);
  // a call that passes its own `tenant` (null for "every tenant") overrides the pick.
  const tenant = query && "tenant" in query ? null : session.tenant();
  if (tenant) {
    params.set("tenant", tenant);
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = body && typeof body === "object" ? body.error : null;
  if (error && typeof error.code === "string") {
    return new ApiError(response.status, error.code, String(error.message || ""), error.details);
  }
  return new ApiError(response.status, "http_" + response.status, response.statusText, {});
}

async function request(method, path, body, query, as = "json") {
  const headers = { Accept: as === "blob" ? "text/csv, application/json" : "application/json" };
  const key = session.key();
  if (key) {
    headers.Authorization = `Bearer ${key}`;
  }
  const init = { method, headers, credentials: "omit", cache: "no-store", redirect: "error" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(withQuery(path, query), init);
  } catch (failure) {
    throw new ApiError(0, "network_error", `the server could not be reached (${failure})`, {});
  }
  if (!response.ok) {
    throw await errorFrom(response);
  }
  if (response.status === 204) {
    return null;
  }
  return as === "blob" ? response.blob() : response.json();
}

/** One method per HTTP verb; every path is a literal /v1/... so tests can check it.
 * `get` with `as: "blob"` reads a file (a CSV export) with the key in the header, so a
 * download never puts the key in a URL. */
export const api = {
  get: (path, query, as) => request("GET", path, undefined, query, as),
  post: (path, body, query) => request("POST", path, body, query),
  put: (path, body, query) => request("PUT", path, body, query),
  patch: (path, body, query) => request("PATCH", path, body, query),
  delete: (path, query) => request("DELETE", path, undefined, query),
};
