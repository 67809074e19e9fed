/**
 * The producer's spool, breaker and outage detection (DESIGN.md §7) over the
 * real memory transport behind a switch that makes the broker fail or go
 * silent: nothing is dropped, a spooled message goes out under its own id, a
 * key is never reordered, a full spool waits or rejects, and a spool file
 * outlives its bus.
 */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import {
  PublishTimeoutError, SpoolFullError, missive, type Bus, type StatusEvent, type Transport,
} from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { openSqliteSpool } from "../../src/stores/spool/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { receiveAtLeast } from "../support/receive.js";
import { switchable } from "../support/switchable-transport.js";
import { spoolFiles } from "../support/spool-files.js";
import { waitFor } from "../support/wait.js";

/** Everything `group` has, acked, in delivery order (at least `count`, waiting up to 5 s). */
async function receiveAll(transport: Transport, group: string, topics: readonly string[], count: number) {
  await transport.connect();
  const sub = await transport.subscribe({ group, topics, prefetch: count + 10, ordered: false, leaseMs: 30_000 });
  const got = await receiveAtLeast(sub, count, 5000);
  // Anything beyond `count` is a duplicate or an extra: look a little longer for it.
  got.push(...(await sub.receive(10, 200)));
  for (const d of got) await d.ack();
  await sub.close();
  return got;
}

const { spoolPath, keep } = spoolFiles("spool");

async function busOn(transport: Transport, path: string, publisher: Record<string, unknown> = {}): Promise<Bus> {
  const bus = await missive({
    service: "spool-test",
    transport,
    publisher: { spool: path, outageAfter: "300ms", retryBase: "5ms", retryMax: "50ms", breaker: { cooldownMs: 50, maxCooldownMs: 200 }, ...publisher },
  });
  keep(bus);
  return bus;
}

describe("producer spool", () => {
  it("spool - publishes during an outage resolve spooled, then arrive in order under their own ids", async () => {
    const broker = createMemoryBroker();
    const t = switchable(broker.transport());
    const bus = await busOn(t, spoolPath());
    await bus.declare(OrderPlaced, "g");
    const events: StatusEvent[] = [];
    bus.onStatus((e) => events.push(e));
    t.mode = "fail";
    const receipts = await Promise.all(Array.from({ length: 200 }, (_, i) => bus.publish(OrderPlaced, { orderId: `k${i % 5}`, seq: i, totalCents: 1 })));
    expect(receipts.every((r) => r.outcome === "spooled")).toBe(true);
    expect(bus.status().broker).toBe("down");
    expect(bus.status().spool?.messages).toBe(200);
    t.mode = "pass";
    await waitFor(() => bus.status().spool?.messages === 0, 10_000, "bus.status().spool?.messages === 0");
    expect(bus.status().broker).toBe("up");
    const got = await receiveAll(broker.transport(), "g", [OrderPlaced.type], 200);
    expect(got.map((d) => d.wire.headers["ce-id"])).toEqual(receipts.map((r) => r.id));
    const types = events.map((e) => `${e.type}:${"state" in e ? e.state : ""}`);
    expect(types).toContain("broker:down");
    expect(types).toContain("broker:up");
    expect(types).toContain("spool:spooling");
    expect(types).toContain("spool:drained");
    // A second outage is announced again.
    t.mode = "fail";
    expect((await bus.publish(OrderPlaced, { orderId: "k9", seq: 999, totalCents: 1 })).outcome).toBe("spooled");
    expect(events.filter((e) => e.type === "spool" && e.state === "spooling")).toHaveLength(2);
    expect(events.filter((e) => e.type === "broker" && e.state === "down")).toHaveLength(2);
  });

  it("spool - a silent broker is noticed within outageAfter, and a late confirm takes the messages back out of the spool", async () => {
    const broker = createMemoryBroker();
    const t = switchable(broker.transport());
    const bus = await busOn(t, spoolPath());
    await bus.declare(OrderPlaced, "g");
    let downAt = 0;
    bus.onStatus((e) => {
      if (e.type === "broker" && e.state === "down") downAt = e.at;
    });
    t.mode = "silent";
    const started = Date.now();
    const receipts = await Promise.all(Array.from({ length: 20 }, (_, i) => bus.publish(OrderPlaced, { orderId: "k", seq: i, totalCents: 1 })));
    expect(receipts.every((r) => r.outcome === "spooled")).toBe(true);
    expect(downAt - started).toBeGreaterThanOrEqual(250);
    expect(downAt - started).toBeLessThan(3000);
    // The held attempt goes through: its messages leave the spool without being sent twice.
    t.mode = "pass";
    await waitFor(() => bus.status().spool?.messages === 0, 10_000, "bus.status().spool?.messages === 0");
    const got = await receiveAll(broker.transport(), "g", [OrderPlaced.type], 20);
    expect(got.map((d) => d.wire.headers["ce-id"])).toEqual(receipts.map((r) => r.id));
    expect(t.stored.length).toBe(20);
  });

  it("spool - a late confirm that cannot be written to a locked spool file crashes nothing: the messages are flushed again under their ids", async () => {
    const broker = createMemoryBroker();
    const t = switchable(broker.transport());
    const path = spoolPath();
    const bus = await busOn(t, path);
    await bus.declare(OrderPlaced, "g");
    t.mode = "silent";
    const receipts = await Promise.all(Array.from({ length: 5 }, (_, i) => bus.publish(OrderPlaced, { orderId: "k", seq: i, totalCents: 1 })));
    expect(receipts.every((r) => r.outcome === "spooled")).toBe(true);
    // Another connection holds the spool's write lock past the busy timeout (5 s) while the held attempt is
    // confirmed. (In this process: each blocked spool write stalls the event loop for the busy timeout, so the
    // test takes about 30 s.)
    const locker = new Database(path);
    locker.exec("BEGIN EXCLUSIVE");
    t.mode = "pass";
    // Generous: the blocked spool writes stall this process's event loop for the busy timeout each.
    await waitFor(() => t.stored.length >= 5, 20_000, "the held attempt confirmed");
    await new Promise((r) => setTimeout(r, 5500));
    locker.exec("COMMIT");
    locker.close();
    await waitFor(() => bus.status().spool?.messages === 0, 20_000, "the spool flushed after the lock");
    const got = await receiveAll(broker.transport(), "g", [OrderPlaced.type], 5);
    expect(new Set(got.map((d) => d.wire.headers["ce-id"]))).toEqual(new Set(receipts.map((r) => r.id)));
  }, 90_000);

  it("spool - a key with messages in the spool keeps its order: later ones queue behind them while the broker is up", async () => {
    const broker = createMemoryBroker();
    const t = switchable(broker.transport());
    const bus = await busOn(t, spoolPath(), { breaker: { threshold: 1, cooldownMs: 400, maxCooldownMs: 400 } });
    await bus.declare(OrderPlaced, "g");
    t.mode = "fail";
    const first = await bus.publish(OrderPlaced, { orderId: "a", seq: 1, totalCents: 1 });
    expect(first.outcome).toBe("spooled");
    t.mode = "pass";
    // The breaker is still open: everything goes to the spool until a probe is confirmed, then key "a" drains first.
    const rest = await Promise.all([2, 3, 4].map((seq) => bus.publish(OrderPlaced, { orderId: "a", seq, totalCents: 1 })));
    await waitFor(() => bus.status().spool?.messages === 0, 10_000, "bus.status().spool?.messages === 0");
    const other = await bus.publish(OrderPlaced, { orderId: "b", seq: 1, totalCents: 1 });
    expect(other.outcome).toBe("confirmed");
    const got = await receiveAll(broker.transport(), "g", [OrderPlaced.type], 5);
    expect(got.map((d) => d.wire.headers["ce-id"])).toEqual([first.id, ...rest.map((r) => r.id), other.id]);
  });

  it("spool - full with whenFull reject: SpoolFullError, nothing sent, nothing lost from the spool", async () => {
    const t = switchable(createMemoryBroker().transport());
    const bus = await busOn(t, spoolPath(), { spool: { path: spoolPath(), maxMessages: 10, whenFull: "reject" }, maxBatch: 5 });
    await bus.declare(OrderPlaced, "g");
    t.mode = "fail";
    const results = await Promise.allSettled(Array.from({ length: 15 }, (_, i) => bus.publish(OrderPlaced, { orderId: `k${i}`, seq: i, totalCents: 1 })));
    const spooled = results.filter((r) => r.status === "fulfilled").length;
    const rejected = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as Error);
    expect(spooled).toBe(10);
    expect(rejected).toHaveLength(5);
    for (const e of rejected) expect(e).toBeInstanceOf(SpoolFullError);
    expect(bus.status().spool?.messages).toBe(10);
  });

  it("spool - full with whenFull wait: publishes wait for room and go through once the spool drains", async () => {
    const broker = createMemoryBroker();
    const t = switchable(broker.transport());
    const bus = await busOn(t, spoolPath(), { spool: { path: spoolPath(), maxMessages: 10, whenFull: "wait" }, timeout: "20s", maxBatch: 5 });
    await bus.declare(OrderPlaced, "g");
    t.mode = "fail";
    const all = Array.from({ length: 25 }, (_, i) => bus.publish(OrderPlaced, { orderId: `k${i % 3}`, seq: i, totalCents: 1 }));
    await waitFor(() => bus.status().spool?.messages === 10, 5000, "bus.status().spool?.messages === 10");
    await new Promise((r) => setTimeout(r, 200));
    t.mode = "pass";
    const receipts = await Promise.all(all);
    expect(receipts).toHaveLength(25);
    await waitFor(() => bus.status().spool?.messages === 0, 10_000, "bus.status().spool?.messages === 0");
    const got = await receiveAll(broker.transport(), "g", [OrderPlaced.type], 25);
    expect(new Set(got.map((d) => d.wire.headers["ce-id"]))).toEqual(new Set(receipts.map((r) => r.id)));
  });

  it("spool - a run of publishes larger than the room left: as many as fit are spooled at once, the rest wait their turn", async () => {
    const broker = createMemoryBroker();
    const t = switchable(broker.transport());
    const bus = await busOn(t, spoolPath(), { spool: { path: spoolPath(), maxMessages: 10, whenFull: "wait" }, timeout: "20s" });
    await bus.declare(OrderPlaced, "g");
    t.mode = "fail";
    const first = await bus.publish(OrderPlaced, { orderId: "k0", seq: 0, totalCents: 1 });
    expect(first.outcome).toBe("spooled");
    const settled: string[] = [];
    const run = Array.from({ length: 25 }, (_, i) => bus.publish(OrderPlaced, { orderId: `k${i % 4}`, seq: i + 1, totalCents: 1 }).then((r) => {
      settled.push(r.id);
      return r;
    }));
    await waitFor(() => settled.length === 9, 5000, "the 9 that fit to be spooled");
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toHaveLength(9);
    expect(bus.status().spool?.messages).toBe(10);
    t.mode = "pass";
    const receipts = await Promise.all(run);
    await waitFor(() => bus.status().spool?.messages === 0, 10_000, "the spool to drain");
    const got = await receiveAll(broker.transport(), "g", [OrderPlaced.type], 26);
    expect(got.map((d) => d.wire.headers["ce-id"])).toEqual([first.id, ...receipts.map((r) => r.id)]);
  });

  it("spool - full with whenFull wait past the publish timeout: SpoolFullError", async () => {
    const t = switchable(createMemoryBroker().transport());
    const bus = await busOn(t, spoolPath(), { spool: { path: spoolPath(), maxMessages: 3 }, timeout: "400ms", maxBatch: 3, maxInFlightBatches: 1 });
    await bus.declare(OrderPlaced, "g");
    t.mode = "fail";
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => bus.publish(OrderPlaced, { orderId: "k", seq: i, totalCents: 1 })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    for (const r of results.slice(3)) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(SpoolFullError);
  });

  it("spool - a broker-only publish ({ spool: false }) is never spooled: it rejects with PublishTimeoutError", async () => {
    const t = switchable(createMemoryBroker().transport());
    const bus = await busOn(t, spoolPath(), { timeout: "400ms" });
    await bus.declare(OrderPlaced, "g");
    t.mode = "fail";
    const err = await bus.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 }, { spool: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishTimeoutError);
    expect(bus.status().spool?.messages).toBe(0);
  });

  it("spool - what one bus spooled, the next bus on the same file flushes", async () => {
    const broker = createMemoryBroker();
    const path = spoolPath();
    const t1 = switchable(broker.transport());
    const first = await busOn(t1, path);
    await first.declare(OrderPlaced, "g");
    t1.mode = "fail";
    const receipts = await Promise.all(Array.from({ length: 30 }, (_, i) => first.publish(OrderPlaced, { orderId: `k${i % 4}`, seq: i, totalCents: 1 })));
    await first.close({ deadline: 200 });
    const spool = openSqliteSpool({ path, readonly: true });
    expect(spool.depth().messages).toBe(30);
    spool.close();
    const second = await busOn(broker.transport(), path);
    await waitFor(() => second.status().spool?.messages === 0, 10_000, "second.status().spool?.messages === 0");
    const got = await receiveAll(broker.transport(), "g", [OrderPlaced.type], 30);
    expect(got.map((d) => d.wire.headers["ce-id"])).toEqual(receipts.map((r) => r.id));
  });

  it("spool - two producers on one file: only the lease holder flushes", () => {
    const path = spoolPath();
    const a = openSqliteSpool({ path });
    const b = openSqliteSpool({ path });
    try {
      expect(a.lease("owner-a", 10_000)).toBe(true);
      expect(b.lease("owner-b", 10_000)).toBe(false);
      expect(a.lease("owner-a", 10_000)).toBe(true);
      a.releaseLease("owner-a");
      expect(b.lease("owner-b", 10_000)).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });

  it("spool - hostile headers in the file (__proto__, non-strings) are read as plain strings only", () => {
    const path = spoolPath();
    const spool = openSqliteSpool({ path });
    try {
      const headers = Object.create(null) as Record<string, string>;
      headers["ce-id"] = "x";
      headers["__proto__"] = "polluted";
      spool.append([{ topic: "t", id: "x", key: undefined, wire: { headers, body: new Uint8Array([1, 2]) } }]);
      const [row] = spool.peek(1);
      expect(Object.getPrototypeOf(row!.message.wire.headers)).toBeNull();
      expect(row!.message.wire.headers["__proto__"]).toBe("polluted");
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
      expect([...row!.message.wire.body]).toEqual([1, 2]);
    } finally {
      spool.close();
    }
  });
});
