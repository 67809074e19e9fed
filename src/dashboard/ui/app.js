/* global EventSource */
/**
 * The page: one session call (mode, CSRF token), one event stream (queues,
 * the services' reports, redrive progress, audit records), and the
 * dead-letter views.
 */
import { get, session } from "./api.js";
import { $, age, dash, fill, h, showError, time } from "./dom.js";
import { initDeadLetters, onProgress, refreshDeadLetters } from "./dead-letters.js";
import { renderServices } from "./services.js";

function renderQueues(snap) {
  const body = $("#queues-table tbody");
  fill($("#alerts"), (snap.alerts ?? []).map((a) => h("li", { "data-kind": a.kind }, a.message)));
  $("#alerts").hidden = !snap.alerts || snap.alerts.length === 0;
  if (snap.error) $("#queues-note").textContent = `reading the queues failed: ${snap.error}`;
  else if (!snap.groups) $("#queues-note").textContent = "this transport cannot report its queues";
  else $("#queues-note").textContent = `as of ${time(snap.at)}`;
  renderKeyBacklog(snap);
  if (!snap.groups) return;
  fill(body, snap.groups.map((g) => h("tr", { "data-group": g.group },
    h("td", { class: "group" }, g.group),
    h("td", { class: "topics" }, g.topics.join(", ") || "-"),
    h("td", { class: "num depth" }, g.depth),
    h("td", { class: "num ready" }, g.ready),
    h("td", { class: "num in-flight" }, g.inFlight),
    h("td", { class: "num delayed" }, g.delayed),
    h("td", { class: "num oldest" }, age(g.oldestAgeMs)),
    h("td", { class: "num dead" }, dash(g.deadLetters)),
    h("td", { class: "num consumers" }, dash(g.consumers)),
  )));
  if (snap.groups.length === 0) fill(body, h("tr", null, h("td", null, "no consumer groups")));
}

function renderKeyBacklog(snap) {
  const note = $("#backlog-note");
  const body = $("#backlog-table tbody");
  if (snap.keyBacklog === undefined || snap.keyBacklog === null) {
    note.textContent = snap.error ? "" : "this broker cannot tell its backlog per key (only a queue table can: SQLite, PostgreSQL); the busiest lanes below are what each consumer holds";
    note.dataset.available = "false";
    fill(body);
    return;
  }
  note.dataset.available = "true";
  note.textContent = `as of ${time(snap.at)}, the ${snap.keyBacklog.length} keys with the most messages not yet handled`;
  fill(body, snap.keyBacklog.length === 0 ? h("tr", null, h("td", null, "no keyed message is waiting")) : snap.keyBacklog.map((k) => h("tr", { "data-group": k.group, "data-key": k.key },
    h("td", null, k.group), h("td", { class: "key" }, k.key), h("td", { class: "num waiting" }, k.waiting),
    h("td", { class: "num oldest" }, k.oldestAt === null ? "-" : age(Math.max(0, Date.now() - k.oldestAt))))));
}

function auditRow(r) {
  const target = r.target.ids ? `${r.target.ids.length} selected` : Object.entries(r.target.filter ?? {}).map(([k, v]) => `${k}=${v}`).join(" ") || "every dead letter";
  return h("tr", null, h("td", null, time(r.at)), h("td", null, r.who), h("td", { class: "action-name" }, r.action), h("td", null, target), h("td", { class: "num" }, r.matched), h("td", { class: "num" }, r.done), h("td", null, r.outcome));
}

async function start() {
  let s;
  try {
    s = await session();
  } catch (err) {
    showError(err);
    return;
  }
  $("#source").textContent = `${s.source} · ${s.who}`;
  if (s.readOnly) {
    $("#mode").textContent = "read-only";
    $("#mode").hidden = false;
  }
  initDeadLetters(s);
  get("api/audit").then((a) => fill($("#audit-table tbody"), a.records.map(auditRow)), showError);

  const events = new EventSource("api/events");
  events.addEventListener("open", () => {
    $("#live").textContent = "live";
    $("#live").className = "live on";
  });
  events.addEventListener("error", () => {
    $("#live").textContent = "reconnecting…";
    $("#live").className = "live off";
  });
  events.addEventListener("queues", (e) => renderQueues(JSON.parse(e.data)));
  events.addEventListener("services", (e) => renderServices(JSON.parse(e.data)));
  events.addEventListener("progress", (e) => onProgress(JSON.parse(e.data)));
  events.addEventListener("audit", (e) => {
    const record = JSON.parse(e.data);
    $("#audit-table tbody").prepend(auditRow(record));
    if (record.action === "replay" || record.action === "discard") refreshDeadLetters();
  });
}

start();
