/**
 * The services view without a browser: reports of two processes in one slot
 * add up (histograms merged, not percentiles averaged), a service level is
 * judged on every message of the window (the dashboard's wins over the
 * consumer's), only live processes' keys and producers show; the
 * `--dlq-alert` forms and their window; and `GET api/services` answering
 * from a memory broker's reports.
 */
import { afterEach, describe, expect, it } from "vitest";
import { AlertWatch, parseDeadLetterAlert } from "../../src/dashboard/alerts.js";
import { servicesView } from "../../src/dashboard/service-view.js";
import { missive, type Bus } from "../../src/index.js";
import { serviceLevel } from "../../src/runtime/service-level.js";
import { LATENCY_BUCKETS_MS, type ServiceReport } from "../../src/transport/service-report.js";
import type { QueueStats } from "../../src/transport/transport.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { waitFor } from "../support/wait.js";
import { Tick } from "./support/scenario.js";
import { serveDashboard, type TestServer } from "./support/server.js";

/** Bucket counts with `n` messages in the bucket whose bound is `boundMs`. */
function counts(...at: [boundMs: number, n: number][]): number[] {
  const c = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  for (const [bound, n] of at) c[LATENCY_BUCKETS_MS.indexOf(bound)] = n;
  return c;
}

function report(reporter: string, at: number, processed: number, total: number[], extra: Partial<ServiceReport> = {}): ServiceReport {
  const latency = { counts: total, p50: null, p95: null, p99: null };
  return {
    v: 1, kind: "service", reporter, service: `svc-${reporter}`, host: "h", pid: 1, at, intervalMs: 1000,
    types: [{ group: "billing", type: "order.created", processed, failed: 0, processing: latency, age: latency, total: latency, slo: { withinMs: 30_000, target: 0.95 } }],
    groups: [], producer: { broker: "up", breaker: "closed", spool: null }, outboxes: [], ...extra,
  };
}

describe("dashboard services view", () => {
  it("dashboard services - two processes in one slot add up; percentiles come from the merged histogram", () => {
    const now = 1_000_000_000_000;
    const view = servicesView([
      report("a", now - 500, 90, counts([10, 90])),
      report("b", now - 400, 10, counts([5_000, 10])),
    ], new Map(), 600_000, now);
    expect(view.series).toHaveLength(1);
    const point = view.series[0]!.points[0]!;
    expect(point).toMatchObject({ processed: 100, throughput: 100, p50: 10, p95: 5_000, p99: 5_000 });
    // 100% within 30 s: the consumer's level is met.
    expect(view.series[0]!.slo).toMatchObject({ from: "consumer", met: true, share: 1, counted: 100 });
  });

  it("dashboard services - the dashboard's level wins and is judged on the whole window; a straddling bucket counts as outside", () => {
    const now = 1_000_000_000_000;
    const reports = [report("a", now - 5_000, 94, counts([1_000, 94])), report("a", now - 1_000, 6, counts([60_000, 6]))];
    const strict = servicesView(reports, new Map([["order.created", serviceLevel("95%<30s", "slo")]]), 600_000, now);
    expect(strict.series[0]!.slo).toMatchObject({ from: "dashboard", share: 0.94, met: false });
    const loose = servicesView(reports, new Map([["order.created", serviceLevel({ within: "1m", target: 0.99 }, "slo")]]), 600_000, now);
    expect(loose.series[0]!.slo).toMatchObject({ share: 1, met: true });
    // 45 s is inside the 60 s bucket: those 6 may have taken 59 s, so they do not count as within 45 s.
    const straddle = servicesView(reports, new Map([["order.created", serviceLevel("90%<45s", "slo")]]), 600_000, now);
    expect(straddle.series[0]!.slo).toMatchObject({ share: 0.94, met: true });
    // A level for a type nobody reported shows, judged on nothing.
    const unseen = servicesView([], new Map([["refund.issued", serviceLevel("99%<1s", "slo")]]), 600_000, now);
    expect(unseen.series[0]).toMatchObject({ type: "refund.issued", slo: { met: null, counted: 0 } });
  });

  it("dashboard services - blocked keys, hot keys and producers come from each live process's latest report only", () => {
    const now = 1_000_000_000_000;
    const group = (key: string): ServiceReport["groups"] => [{ group: "billing", blockedKeys: [{ key, since: now - 60_000, messageId: `m-${key}`, attempts: 3 }], hotKeys: [{ key, waiting: 4, oldestAt: null }] }];
    const view = servicesView([
      report("gone", now - 60_000, 0, counts(), { groups: group("old") }),
      report("live", now - 10_000, 0, counts(), { groups: group("older-report") }),
      report("live", now - 500, 0, counts(), { groups: group("k-1"), producer: { broker: "down", breaker: "open", spool: { messages: 12, bytes: 900, parked: 1, oldestAt: now - 4_000 } }, outboxes: [{ store: "sqlite outbox", table: "missive_outbox", unsent: 3, oldestAgeMs: 2_500 }] }),
    ], new Map(), 600_000, now);
    expect(view.blockedKeys).toEqual([{ key: "k-1", since: now - 60_000, messageId: "m-k-1", attempts: 3, group: "billing", service: "svc-live", forMs: 60_000 }]);
    expect(view.hotKeys).toEqual([{ group: "billing", key: "k-1", waiting: 4, service: "svc-live" }]);
    expect(view.producers).toHaveLength(1);
    expect(view.producers[0]).toMatchObject({ service: "svc-live", broker: "down", breaker: "open", spool: { messages: 12, parked: 1 }, outboxes: [{ unsent: 3, oldestAgeMs: 2_500 }] });
  });

  it("dashboard services - --dlq-alert takes a total or a count within a window, and the window is the one given", () => {
    expect(parseDeadLetterAlert("1000")).toEqual({ deadLetters: 1000 });
    expect(parseDeadLetterAlert("1000/5m")).toEqual({ deadLetterRate: { count: 1000, withinMs: 300_000 } });
    expect(parseDeadLetterAlert(" 50 / 30s ")).toEqual({ deadLetterRate: { count: 50, withinMs: 30_000 } });
    for (const bad of ["", "many", "10/5", "10/5d", "-1"]) expect(() => parseDeadLetterAlert(bad), bad).toThrow(/dead-letter alert/);
    expect(() => new AlertWatch({ deadLetterRate: { count: 5, withinMs: 10 } })).toThrow(/withinMs/);
    const watch = new AlertWatch({ deadLetterRate: { count: 5, withinMs: 60_000 } });
    const stats = (deadLetters: number): QueueStats[] => [{ group: "g", topics: [], depth: 0, ready: 0, inFlight: 0, delayed: 0, oldestAgeMs: undefined, deadLetters, consumers: 1, temporary: false }];
    expect(watch.evaluate(stats(0), 0)).toEqual([]);
    expect(watch.evaluate(stats(5), 30_000)).toMatchObject([{ kind: "dead-letter-rate", value: 5, message: "5 more dead letters within 1 minute (alert at 5)" }]);
    // The 0 has left the one-minute window: 5 → 7 is a rise of 2.
    expect(watch.evaluate(stats(7), 61_000)).toEqual([]);
  });
});

describe("dashboard services api", () => {
  let bus: Bus | undefined;
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    await bus?.close({ deadline: 500 });
    server = bus = undefined;
  });

  it("dashboard services - GET api/services answers the view from the transport's reports; a bad slo option is refused at once", async () => {
    const transport = createMemoryBroker().transport();
    bus = await missive({ service: "api-svc", transport, reportInterval: "100ms" });
    await bus.consume(Tick, { group: "ticks" }, () => undefined).ready;
    for (let n = 0; n < 5; n++) await bus.publish(Tick, { n });
    server = await serveDashboard({ bus, slo: { [Tick.type]: "50%<1m" } });
    let body: { available: boolean; view: { series: { type: string; slo: { met: boolean | null } | null }[]; producers: { service: string }[] } } | undefined;
    await waitFor(async () => {
      body = (await (await fetch(`${server!.url}api/services`)).json()) as typeof body;
      return body!.view.series.some((s) => s.slo?.met === true);
    }, 20_000, "the ticks' level judged met");
    expect(body!.available).toBe(true);
    expect(body!.view.series.map((s) => s.type)).toEqual([Tick.type]);
    expect(body!.view.producers.map((p) => p.service)).toEqual(["api-svc"]);
    await expect(serveDashboard({ bus, slo: { [Tick.type]: "fast" } })).rejects.toMatchObject({ code: "MISSIVE_CONFIG" });
  });
});
