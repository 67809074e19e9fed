import { describe, expect, it } from "vitest";
import { ConsumerMetrics } from "../../src/runtime/consumer-metrics.js";
import { LATENCY_BUCKETS_MS } from "../../src/transport/service-report.js";

const count = (summary: { counts: readonly number[] }): number => summary.counts.reduce((a, b) => a + b, 0);

describe("consumer metrics", () => {
  it("consumer metrics - outcomes count as processed or failed; given back and lease lost are not counted", () => {
    const m = new ConsumerMetrics("g", null);
    const now = performance.now();
    const time = new Date().toISOString();
    for (const kind of ["handled", "duplicate", "committed-then-failed"] as const) m.record("t", kind, now, now + 1, time);
    for (const kind of ["retry", "dead-letter", "stop", "dropped", "settle-failed"] as const) m.record("t", kind, now, now + 1, time);
    for (const kind of ["give-back", "lease-lost"] as const) m.record("t", kind, now, now + 1, time);
    const [report] = m.take(Date.now()).types;
    expect(report).toMatchObject({ group: "g", type: "t", processed: 3, failed: 5 });
    expect(count(report!.processing)).toBe(8);
    expect(count(report!.age)).toBe(8);
    // Publish-to-processed only for what was processed.
    expect(count(report!.total)).toBe(3);
  });

  it("consumer metrics - the age is read from each message's own publish time, the same text or a new one", () => {
    const m = new ConsumerMetrics("g", null);
    const now = performance.now();
    const wallNow = Date.now();
    const recent = new Date(wallNow).toISOString();
    const old = new Date(wallNow - 60_000).toISOString();
    for (const time of [recent, recent, old, old, recent, "not a time"]) m.record("t", "handled", now, now, time);
    const [report] = m.take(wallNow).types;
    // Five readable times (the unreadable one has no age); the two a minute old in the buckets from 60 s on.
    expect(count(report!.age)).toBe(5);
    expect(report!.age.p50).toBeLessThanOrEqual(10);
    expect(report!.age.p99).toBeGreaterThanOrEqual(30_000);
    const minuteOrMore = report!.age.counts.slice(LATENCY_BUCKETS_MS.indexOf(60_000)).reduce((a, b) => a + b, 0);
    expect(minuteOrMore).toBe(2);
  });
});
