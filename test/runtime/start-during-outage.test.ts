/**
 * A bus with a spool starts while its broker is unreachable (a service
 * restarted during an outage): missive() resolves, publishes resolve
 * `spooled`, consumers wait for the connection, and once the broker answers
 * the spool flushes and the consumers start. Without a spool, and for
 * refused credentials, missive() still fails at once. Over the real memory
 * transport whose first connects fail.
 */
import { describe, expect, it } from "vitest";
import { AuthenticationError, ConnectionError, missive, type PublisherOptions, type Transport } from "../../src/index.js";
import { openSqliteSpool } from "../../src/stores/spool/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { spoolFiles } from "../support/spool-files.js";
import { sleep, waitFor } from "../support/wait.js";

const { spoolPath, keep } = spoolFiles("start-down");

/** The memory transport, its connect failing with `error` until `up` is set. */
function unreachable(inner: Transport, error: () => Error): Transport & { up: boolean; attempts: number } {
  const t = {
    ...inner,
    name: inner.name,
    capabilities: inner.capabilities,
    up: false,
    attempts: 0,
    connect: async () => {
      t.attempts++;
      if (!t.up) throw error();
      await inner.connect();
    },
    publish: (batch: Parameters<Transport["publish"]>[0]) => inner.publish(batch),
    bind: (group: string, topics: readonly string[]) => inner.bind(group, topics),
    subscribe: (options: Parameters<Transport["subscribe"]>[0]) => inner.subscribe(options),
    close: () => inner.close(),
  };
  return t;
}

const publisher = (spool: string): PublisherOptions => ({ spool, outageAfter: "300ms", retryBase: "5ms", retryMax: "50ms", breaker: { cooldownMs: 50, maxCooldownMs: 200 } });
const order = (seq: number) => ({ orderId: `o-${seq % 3}`, seq, totalCents: seq });

describe("starting during an outage", () => {
  it("start - with a spool, an unreachable broker at start: publishes spool, a consumer waits, both go on once it answers", async () => {
    const broker = createMemoryBroker();
    const t = unreachable(broker.transport(), () => new ConnectionError("connect ECONNREFUSED 127.0.0.1:1"));
    const bus = await missive({ service: "start-down", transport: t, publisher: publisher(spoolPath()) });
    keep(bus);

    const receipts = [];
    for (let seq = 0; seq < 20; seq++) receipts.push(await bus.publish(OrderPlaced, order(seq)));
    expect(receipts.map((r) => r.outcome)).toEqual(Array(20).fill("spooled"));
    expect(bus.status().broker).toBe("down");
    expect(bus.status().spool?.messages).toBe(20);

    const seen: Array<{ id: string; seq: number; key: string }> = [];
    const consumer = bus.consume(OrderPlaced, { group: "billing", ordered: true }, (o, ctx) => {
      seen.push({ id: ctx.message.id, seq: o.seq, key: o.orderId });
    });
    let started = false;
    void consumer.ready.then(() => (started = true));
    await sleep(300);
    expect(started).toBe(false); // no broker yet: the consumer waits, it does not fail

    t.up = true;
    await consumer.ready;
    await waitFor(() => seen.length >= 20 && bus.status().spool?.messages === 0 && bus.status().broker === "up", 10_000, "the spool flushed to the consumer");
    expect(new Set(seen.map((s) => s.id))).toEqual(new Set(receipts.map((r) => r.id)));
    for (const key of ["o-0", "o-1", "o-2"]) {
      const seqs = seen.filter((s) => s.key === key).map((s) => s.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect(t.attempts).toBeGreaterThan(1);
    const after = await bus.publish(OrderPlaced, order(99));
    expect(after.outcome).toBe("confirmed");
  });

  it("start - closing before the broker ever answered: close resolves, the spooled messages stay in the file for the next start", async () => {
    const path = spoolPath();
    const t = unreachable(createMemoryBroker().transport(), () => new ConnectionError("connect ECONNREFUSED 127.0.0.1:1"));
    const bus = await missive({ service: "start-down", transport: t, publisher: publisher(path) });
    for (let seq = 0; seq < 5; seq++) expect((await bus.publish(OrderPlaced, order(seq))).outcome).toBe("spooled");
    const consumer = bus.consume(OrderPlaced, { group: "billing" }, () => undefined);
    const ready = consumer.ready.then(() => "started", () => "ended");
    await bus.close({ deadline: 500 });
    expect(await ready).toBe("ended");
    const spool = openSqliteSpool({ path, readonly: true });
    try {
      expect(spool.depth().messages).toBe(5);
    } finally {
      spool.close();
    }
  });

  it("start - without a spool, an unreachable broker fails missive() with the ConnectionError", async () => {
    const t = unreachable(createMemoryBroker().transport(), () => new ConnectionError("connect ECONNREFUSED 127.0.0.1:1"));
    await expect(missive({ service: "start-down", transport: t })).rejects.toBeInstanceOf(ConnectionError);
  });

  it("start - with a spool, refused credentials still fail missive() at once (not an outage)", async () => {
    const t = unreachable(createMemoryBroker().transport(), () => new AuthenticationError("ACCESS_REFUSED"));
    await expect(missive({ service: "start-down", transport: t, publisher: publisher(spoolPath()) })).rejects.toBeInstanceOf(AuthenticationError);
  });
});
