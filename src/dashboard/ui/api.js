/* global fetch, URLSearchParams */
/**
 * Calls to the dashboard's JSON API, relative to the page (so it works under
 * any mount path). Actions carry the session's CSRF token in a header.
 */
let csrf = "";

async function read(res) {
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

export async function session() {
  const s = await get("api/session");
  csrf = s.csrf;
  return s;
}

export async function get(path, params) {
  const query = params ? `?${new URLSearchParams(params)}` : "";
  return read(await fetch(`${path}${query}`, { credentials: "same-origin" }));
}

export async function post(path, body) {
  return read(await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-missive-csrf": csrf },
    body: JSON.stringify(body),
  }));
}
