// The studio's JSON API (docs/studio.md): one fetch wrapper that sends the
// session's CSRF token on every change and turns an error body
// {"error", "message"} into an Error whose message is the plain words.
const BASE = "api";   // relative to /studio/

let csrf = null;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `the server answered ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function setCsrf(token) {
  csrf = token;
}

export async function request(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const res = await fetch(`${BASE}/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body === undefined ? {} : body);
export const put = (path, body) => request("PUT", path, body);
export const del = (path) => request("DELETE", path);

// a path under /studio/api/tenants/{t}/ with each part escaped
export function tenantPath(tenant, ...parts) {
  return ["tenants", tenant, ...parts].map(encodeURIComponent).join("/");
}

// the API path of a file: files/{path} or draft/files/{path}, the path's
// slashes kept (docs/studio.md)
export function filePath(tenant, path, ...more) {
  return tenantPath(tenant, ...more, ...path.split("/"));
}

// a query string from an object, leaving out empty values
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}
