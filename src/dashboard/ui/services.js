/**
 * What the services report (pushed as `services`): a card per consumer group
 * and type with its charts and service level, the blocked and hot keys, and
 * the producers (spool, breaker, outbox lag).
 */
import { lineChart } from "./charts.js";
import { $, age, dash, fill, h, time } from "./dom.js";

const ms = (v) => (v === null || v === undefined ? "-" : age(v));
const rate = (v) => `${Math.round(v * 10) / 10}/s`;

function levelText(slo) {
  const goal = `${Math.round(slo.target * 1000) / 10}% within ${age(slo.withinMs)}`;
  if (slo.met === null) return `SLO ${goal}: nothing processed in the window`;
  const share = `${Math.round(slo.share * 1000) / 10}% of ${slo.counted}`;
  return `SLO ${goal}: ${slo.met ? "met" : "NOT met"} (${share}${slo.from === "consumer" ? ", the consumer's own level" : ""})`;
}

function card(series) {
  const pts = series.points;
  const at = (key) => pts.map((p) => [p.at, p[key]]);
  const head = h("h3", null, `${series.group} · ${series.type}`);
  const level = series.slo === null ? null : h("p", { class: `slo ${series.slo.met === false ? "missed" : series.slo.met ? "met" : "none"}`, "data-met": String(series.slo.met) }, levelText(series.slo));
  const last = pts.at(-1);
  const now = last === undefined ? null : h("p", { class: "muted" }, `last interval: ${last.processed} processed, ${last.failed} failed, p50 ${ms(last.p50)}, p95 ${ms(last.p95)}, p99 ${ms(last.p99)}, age p95 ${ms(last.ageP95)}`);
  const charts = h("div", { class: "charts" },
    lineChart("Throughput", [{ name: "processed/s", cls: "l1", values: pts.map((p) => [p.at, p.throughput]) }, { name: "failed", cls: "l3", values: at("failed") }], rate),
    lineChart("Processing time", [{ name: "p50", cls: "l1", values: at("p50") }, { name: "p95", cls: "l2", values: at("p95") }, { name: "p99", cls: "l3", values: at("p99") }], age),
    lineChart("Age at start", [{ name: "p50", cls: "l1", values: at("ageP50") }, { name: "p95", cls: "l2", values: at("ageP95") }, { name: "p99", cls: "l3", values: at("ageP99") }], age),
  );
  return h("div", { class: "service-card", "data-group": series.group, "data-type": series.type }, head, level, now, charts);
}

export function renderServices(snap) {
  const note = $("#services-note");
  if (!snap.available) {
    note.textContent = "this transport keeps no service reports";
    return;
  }
  const v = snap.view;
  note.textContent = snap.error ? `reading the service reports failed: ${snap.error}` : `the last ${Math.round(v.windowMs / 60000)} minutes, in ${Math.round(v.slotMs / 1000)} s slots, from every service's reports`;
  fill($("#charts"), v.series.length === 0 ? h("p", { class: "muted" }, "no service has reported yet (a bus reports every reportInterval, 10 s by default)") : v.series.map(card));
  fill($("#blocked-table tbody"), v.blockedKeys.length === 0 ? h("tr", null, h("td", null, "no key is blocked behind a retry")) : v.blockedKeys.map((b) => h("tr", { "data-key": b.key },
    h("td", null, b.group), h("td", { class: "key" }, b.key), h("td", { class: "num blocked-for" }, age(b.forMs)), h("td", null, time(new Date(b.since).toISOString())),
    h("td", { class: "message-id" }, b.messageId), h("td", { class: "num" }, b.attempts), h("td", null, b.service))));
  fill($("#hot-table tbody"), v.hotKeys.length === 0 ? h("tr", null, h("td", null, "no key has messages waiting behind it")) : v.hotKeys.map((k) => h("tr", { "data-key": k.key },
    h("td", null, k.group), h("td", { class: "key" }, k.key), h("td", { class: "num" }, k.waiting), h("td", null, k.service))));
  fill($("#producers-table tbody"), v.producers.length === 0 ? h("tr", null, h("td", null, "no live service has reported")) : v.producers.map((p) => h("tr", { "data-service": p.service },
    h("td", null, p.service), h("td", null, `${p.host} / ${p.pid}`), h("td", { class: `broker ${p.broker}` }, p.broker), h("td", { class: `breaker ${p.breaker}` }, p.breaker),
    h("td", { class: "num spooled" }, p.spool === null ? "no spool" : p.spool.messages), h("td", { class: "num" }, p.spool?.oldestAt ? age(Date.now() - p.spool.oldestAt) : "-"),
    h("td", { class: "num" }, p.spool === null ? "-" : p.spool.parked),
    h("td", { class: "outboxes" }, p.outboxes.length === 0 ? "-" : p.outboxes.map((o) => `${o.store} ${o.table}: ${o.unsent} unsent, oldest ${ms(o.oldestAgeMs)}`).join("; ")),
    h("td", { class: "muted" }, dash(time(new Date(p.at).toISOString()))))));
}
