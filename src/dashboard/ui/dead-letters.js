/* global FormData, document, setTimeout */
/**
 * Dead letters: failure groups, the filtered list (payload search included),
 * one message whole, and redrive. Every redrive starts with a dry run that
 * says what would move where; only then is the real action offered. In
 * read-only mode no action button is made at all.
 */
import { get, post } from "./api.js";
import { $, dash, fill, h, showError, time } from "./dom.js";

let readOnly = true;
let enabled = false;
let next = null;
/** The entry the edit panel works on. */
let editing = null;
const selected = new Set();

export function initDeadLetters(session) {
  readOnly = session.readOnly;
  enabled = session.deadLetters;
  if (!enabled) {
    $("#groups-note").textContent = "this transport has no dead-letter store";
    $("#browse").hidden = true;
    return;
  }
  $("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    loadList(false);
  });
  $("#filters").addEventListener("reset", () => setTimeout(() => refreshDeadLetters(), 0));
  $("#more").addEventListener("click", () => loadList(true));
  $("#detail-close").addEventListener("click", () => ($("#detail").hidden = true));
  if (readOnly) {
    $("#edit").remove();
  } else {
    $("#edit-check").addEventListener("click", () => sendEdit(true));
    $("#edit-apply").addEventListener("click", () => sendEdit(false));
  }
  refreshDeadLetters();
}

export function refreshDeadLetters() {
  if (!enabled) return;
  loadGroups();
  loadList(false);
}

function filters() {
  const out = {};
  for (const [name, value] of new FormData($("#filters"))) if (String(value).trim() !== "") out[name] = String(value).trim();
  return out;
}

async function loadGroups() {
  try {
    const g = await get("api/groups");
    fill($("#groups-table tbody"), g.groups.map(groupRow));
    $("#groups-note").textContent = g.groups.length === 0 ? "no dead letters" : `${g.scanned} dead letters read${g.truncated ? " (stopped at the scan budget: counts are of those only)" : ""}`;
  } catch (err) {
    showError(err);
  }
}

function groupRow(g) {
  const filter = { signature: g.key };
  return h("tr", { "data-type": g.type, class: "group-row" },
    h("td", { class: "num count" }, g.count),
    h("td", { class: "num recent" }, `${g.recent["5m"]} / ${g.recent["1h"]}`),
    h("td", null, g.type),
    h("td", null, [g.errorCode, g.errorClass].filter(Boolean).join(" · ") || "-"),
    h("td", { class: "pattern", title: g.example }, g.pattern || "(no message)"),
    h("td", null, time(new Date(g.firstSeen).toISOString())),
    h("td", null, time(new Date(g.lastSeen).toISOString())),
    h("td", null, g.groups.join(", ")),
    h("td", null,
      h("button", { type: "button", class: "browse-group", onclick: () => browse(filter) }, "Browse"),
      readOnly ? null : h("button", { type: "button", class: "action dry-run-replay", onclick: () => dryRun("replay", { filter }, `failure group “${g.pattern}” (${g.type})`) }, "Replay…"),
      readOnly ? null : h("button", { type: "button", class: "action danger dry-run-discard", onclick: () => dryRun("discard", { filter }, `failure group “${g.pattern}” (${g.type})`) }, "Discard…"),
    ),
  );
}

function browse(filter) {
  $("#filters").reset();
  for (const [name, value] of Object.entries(filter)) $("#filters").elements.namedItem(name).value = value;
  loadList(false);
  $("#browse").scrollIntoView();
}

async function loadList(more) {
  const params = { ...filters(), ...(more && next ? { after: next } : {}) };
  const f = filters();
  $("#filter-note").textContent = f.signature ? "showing one failure group (Clear to see all)" : "";
  try {
    const page = await get("api/dead-letters", params);
    const rows = page.entries.map(listRow);
    if (more) $("#dl-table tbody").append(...rows);
    else {
      selected.clear();
      fill($("#dl-table tbody"), rows);
    }
    if (!more && rows.length === 0) fill($("#dl-table tbody"), h("tr", null, h("td", null, "no dead letters match")));
    next = page.next;
    $("#more").hidden = next === null;
    renderSelectionActions();
    showError(null);
  } catch (err) {
    showError(err);
  }
}

function listRow(e) {
  const box = readOnly ? null : h("input", { type: "checkbox", class: "action select", onchange: (ev) => {
    if (ev.target.checked) selected.add(e.entryId);
    else selected.delete(e.entryId);
    renderSelectionActions();
  } });
  return h("tr", { "data-entry": e.entryId, class: "dl-row" },
    h("td", null, box),
    h("td", null, h("button", { type: "button", class: "link open", onclick: () => openEntry(e.entryId) }, time(e.deadLetteredAt))),
    h("td", null, e.group),
    h("td", null, e.type),
    h("td", null, dash(e.errorCode ?? e.errorClass)),
    h("td", { class: "num" }, dash(e.attempts)),
    h("td", { class: "message" }, dash(e.errorMessage)),
    h("td", { class: "message-id" }, e.messageId),
  );
}

function renderSelectionActions() {
  const box = $("#selection-actions");
  if (readOnly) return fill(box);
  const f = filters();
  const n = selected.size;
  fill(box,
    n === 0 ? null : h("button", { type: "button", class: "action replay-selected", onclick: () => dryRun("replay", { ids: [...selected] }, `${n} selected`) }, `Replay ${n} selected…`),
    n === 0 ? null : h("button", { type: "button", class: "action danger discard-selected", onclick: () => dryRun("discard", { ids: [...selected] }, `${n} selected`) }, `Discard ${n} selected…`),
    h("button", { type: "button", class: "action replay-matching", onclick: () => dryRun("replay", { filter: f }, "every dead letter matching the filters") }, "Replay all matching…"),
  );
}

async function openEntry(entryId) {
  try {
    const e = await get(`api/dead-letters/${encodeURIComponent(entryId)}`);
    const kv = (rows) => rows.map(([k, v]) => h("tr", null, h("th", null, k), h("td", { class: "value" }, dash(v))));
    fill($("#detail-ids"), kv([["entry", e.entryId], ["message id", e.messageId], ["type", e.type], ["group", e.group], ["key", e.key], ["dead-lettered", time(e.deadLetteredAt)]]));
    const d = e.diagnostics;
    fill($("#detail-diagnostics"), kv([["class", d.errorClass], ["code", d.errorCode], ["message", d.errorMessage], ["reason", d.reason], ["attempts", d.attempts], ["first failure", time(d.firstFailureAt)], ["last failure", time(d.lastFailureAt)], ["source", d.source], ["group", d.group], ["host", d.host], ["version", d.version], ["stack", d.errorStack ? d.errorStack.split(" | ").join("\n") : null]]));
    fill($("#detail-headers"), kv(Object.entries(e.headers)));
    $("#detail-body-info").textContent = `${e.body.encoding}, ${e.body.bytes} bytes`;
    $("#detail-body").textContent = e.body.encoding === "json" ? JSON.stringify(e.body.json, null, 2) : e.body.encoding === "utf8" ? e.body.text : e.body.base64;
    fill($("#detail-actions"), readOnly ? null : [
      h("button", { type: "button", class: "action replay-one", onclick: () => dryRun("replay", { ids: [e.entryId] }, "this message") }, "Replay…"),
      h("button", { type: "button", class: "action danger discard-one", onclick: () => dryRun("discard", { ids: [e.entryId] }, "this message") }, "Discard…"),
      e.data === null ? null : h("button", { type: "button", class: "action edit-open", onclick: () => openEditor(e) }, "Edit…"),
    ]);
    if (!readOnly) $("#edit").hidden = true;
    $("#detail").hidden = false;
    $("#detail").scrollIntoView();
  } catch (err) {
    showError(err);
  }
}

function openEditor(e) {
  editing = e.entryId;
  $("#edit-data").value = JSON.stringify(e.data, null, 2);
  fill($("#edit-result"));
  $("#edit-apply").hidden = true;
  $("#edit").hidden = false;
  $("#edit-data").focus();
}

const shown = (v) => (v === undefined ? "(none)" : JSON.stringify(v));

async function sendEdit(check) {
  const box = $("#edit-result");
  let data;
  try {
    data = JSON.parse($("#edit-data").value);
  } catch (err) {
    fill(box, h("p", { class: "refused" }, `not JSON: ${err.message}`));
    return;
  }
  try {
    const r = await post("api/edit", { entryId: editing, data, dryRun: check });
    const changes = h("ul", { class: "changes" }, r.changes.map((c) => h("li", null, `${c.path || "(data)"}: ${shown(c.before)} → ${shown(c.after)}`)));
    if (!r.ok) {
      fill(box, h("p", { class: "refused edit-refused" }, `refused: ${r.error}`), h("ul", { class: "issues" }, r.issues.map((i) => h("li", null, i))), changes);
      $("#edit-apply").hidden = true;
      return;
    }
    if (check) {
      fill(box, h("p", { class: "edit-valid" }, `valid against ${r.contract}; ${r.changes.length} change${r.changes.length === 1 ? "" : "s"}:`), changes);
      $("#edit-apply").hidden = false;
      return;
    }
    fill(box, h("p", { class: "edit-replayed" }, `replayed with the new data (same message id), checked against ${r.contract}`), changes);
    $("#edit-apply").hidden = true;
    refreshDeadLetters();
  } catch (err) {
    showError(err);
  }
}

async function dryRun(action, target, what) {
  $("#redrive").hidden = false;
  const box = $("#dry-run");
  fill(box, h("p", null, `Dry run: ${action} ${what}…`));
  try {
    const r = await post("api/redrive", { action, ...target, dryRun: true });
    const verb = action === "replay" ? "replay" : "discard";
    fill(box,
      h("p", { class: "dry-run-result" }, `Dry run: would ${verb} ${r.matched} dead letter${r.matched === 1 ? "" : "s"} (${what}).`),
      h("ul", null, r.moves.map((m) => h("li", null, `${m.count} × ${m.type} ${action === "replay" ? "→ back to group" : "from group"} ${m.group}`))),
      r.matched === 0 ? null : h("button", { type: "button", class: `action confirm-${action}${action === "discard" ? " danger" : ""}`, onclick: () => run(action, target) }, `${action === "replay" ? "Replay" : "Discard"} ${r.matched} now`),
      h("button", { type: "button", class: "cancel", onclick: () => fill(box) }, "Cancel"),
    );
  } catch (err) {
    fill(box);
    showError(err);
  }
}

async function run(action, target) {
  fill($("#dry-run"));
  try {
    const r = await post("api/redrive", { action, ...target });
    onProgress({ job: r.job, action, done: 0, total: r.total, outcome: undefined });
  } catch (err) {
    showError(err);
  }
}

export function onProgress(p) {
  $("#redrive").hidden = false;
  let line = document.getElementById(`job-${p.job}`);
  if (!line) {
    line = h("p", { class: "job", "data-job": p.job });
    line.id = `job-${p.job}`;
    $("#progress").prepend(line);
  } else if (line.dataset.outcome || Number(line.dataset.done) > p.done) {
    // The stream may bring a job's later progress before the POST that started it has answered: never go back.
    return;
  }
  line.dataset.done = String(p.done);
  line.textContent = `${p.action}: ${p.done} of ${p.total}${p.outcome ? ` — ${p.outcome}` : "…"}`;
  line.dataset.outcome = p.outcome ?? "";
}
