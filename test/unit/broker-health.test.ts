/**
 * BrokerHealth.changed() (regression, failing until fixed). The producer's
 * permit loop (src/runtime/producer.ts, permit()) asks permit(), gets false
 * (breaker open), does synchronous work (it tries to spool the batch: with
 * a full spool, an fsynced SQLite append that throws SpoolFullError), then
 * waits with changed(untilDeadline). When the cool-down ended during that
 * work, no timer has run yet, so the breaker is still "open" until
 * changed() reads it: waitMs() then moves it to half-open (waking only the
 * waiters already queued, and clearing the wake-up timer) and returns 0,
 * and `waitMs() || maxMs` arms a timer of the whole maxMs. The caller
 * sleeps though a probe may go now. End to end:
 * test/faults/sqlite-spool-burst.test.ts.
 */
import { describe, expect, it } from "vitest";
import { noopLogger } from "../../src/observability/logger.js";
import { BrokerHealth } from "../../src/runtime/broker-health.js";
import { StatusEvents } from "../../src/runtime/status.js";
import { sleep } from "../support/wait.js";

/** Keep the event loop busy (no timer runs), as a synchronous SQLite write does. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

function health(): BrokerHealth {
  return new BrokerHealth({ threshold: 3, cooldownMs: 40, maxCooldownMs: 40 }, () => 0.5, new StatusEvents(noopLogger), noopLogger);
}

describe("broker-health", () => {
  it("broker-health - changed() during the cool-down resolves when it ends, and a probe may go", async () => {
    const h = health();
    h.outage("test: no confirm");
    expect(h.permit()).toBe(false);
    const started = Date.now();
    await h.changed(10_000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(h.permit()).toBe(true);
    h.close();
  });

  it("broker-health - changed() called after the cool-down ended, before anything saw the breaker half-open, resolves at once, not after maxMs", async () => {
    const h = health();
    h.outage("test: no confirm");
    expect(h.permit()).toBe(false);
    busy(80); // the cool-down (at most 40 ms) ends while the loop is busy
    const woke = await Promise.race([h.changed(10_000).then(() => true), sleep(1000).then(() => false)]);
    expect(woke).toBe(true);
    expect(h.permit()).toBe(true);
    h.close();
  });

  it("broker-health - a connection the transport reports lost is an outage at once (before, only a failed or unconfirmed publish was), and reported back is up", () => {
    const events = new StatusEvents(noopLogger);
    const h = new BrokerHealth({ threshold: 3, cooldownMs: 40, maxCooldownMs: 40 }, () => 0.5, events, noopLogger);
    const seen: string[] = [];
    events.on((e) => void (e.type === "broker" && seen.push(e.state)));
    const connection = (state: "down" | "up"): void => events.emit({ type: "transport", at: Date.now(), transport: "t", event: { kind: "connection", state, reason: "ECONNRESET" } });
    connection("down");
    expect(h.up).toBe(false);
    // Announced only: the breaker is left to what publishes see.
    expect(h.permit()).toBe(true);
    connection("up");
    expect(h.up).toBe(true);
    expect(seen).toEqual(["down", "up"]);
    // An outage a publish detected meanwhile is not ended by the connection coming back: only a confirm ends it.
    connection("down");
    h.outage("test: no confirm");
    connection("up");
    expect(h.up).toBe(false);
    h.confirmed();
    expect(seen).toEqual(["down", "up", "down", "up"]);
    h.close();
  });
});
