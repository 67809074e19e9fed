/**
 * A half-open LISTEN connection (open, no error, nothing arrives: a dead path
 * with no RST) is found by its `SELECT 1` check and replaced; meanwhile
 * consumers poll fast instead of waiting out their NOTIFY-healthy fallback
 * poll. Only the LISTEN connection goes through a TCP proxy
 * (`listenConnectionString`); the pool talks to the shared server directly.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { OutgoingMessage } from "../../src/index.js";
import { postgresTransport, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { dropPrefix, PG_URL, pgPrefix } from "../support/postgres.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { sleep } from "../support/wait.js";

const CHECK_MS = 300;
const opened: PostgresTransport[] = [];
let proxy: TcpProxy | undefined;
let prefix: string | undefined;

afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
  await proxy?.stop();
  proxy = undefined;
  if (prefix !== undefined) await dropPrefix(prefix);
  prefix = undefined;
});

const message = (id: string): OutgoingMessage => ({ topic: "a", id, key: undefined, wire: { headers: { "ce-id": id }, body: Buffer.from(id) } });

/** Publish `id` shortly after a receive starts waiting; resolves with what it got and how long after the publish. */
async function receiveAfterPublish(consumer: PostgresTransport, producer: PostgresTransport, id: string): Promise<{ ids: string[]; ms: number }> {
  const sub = await consumer.subscribe({ group: "g", topics: ["a"], prefetch: 10, ordered: false, leaseMs: 5_000 });
  try {
    const waiting = sub.receive(10, 4_000);
    await sleep(100);
    const sent = Date.now();
    await producer.publish([message(id)]);
    const got = await waiting;
    await Promise.all(got.map((d) => d.ack()));
    return { ids: got.map((d) => d.wire.headers["ce-id"]!), ms: Date.now() - sent };
  } finally {
    await sub.close();
  }
}

describe("faults - postgres LISTEN connection", () => {
  it("faults - postgres: a blackholed LISTEN connection is detected and consumers poll fast; once the path is back, NOTIFY wakes them again", async () => {
    prefix = pgPrefix();
    proxy = await startTcpProxy({ upstreamPort: 5432 });
    const viaProxy = `postgres://postgres@127.0.0.1:${proxy.port}/test`;
    // A fallback poll far longer than the receive: only NOTIFY or fast polling can deliver in time.
    const consumer = postgresTransport({ connectionString: PG_URL, listenConnectionString: viaProxy, tablePrefix: prefix, pollMinMs: 5, pollMaxMs: 10_000, listenCheckMs: CHECK_MS });
    const producer = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix });
    opened.push(consumer, producer);
    await consumer.connect();
    await producer.connect();

    const healthy = await receiveAfterPublish(consumer, producer, "before");
    expect(healthy.ids).toEqual(["before"]);
    expect(healthy.ms).toBeLessThan(1_000);

    await proxy.blackhole();
    // Two failed checks: the connection is found half-open and replaced (the replacement hangs, and times out, too).
    await sleep(CHECK_MS * 3);
    const halfOpen = await receiveAfterPublish(consumer, producer, "during");
    expect(halfOpen.ids).toEqual(["during"]);
    expect(halfOpen.ms).toBeLessThan(1_500);

    await proxy.pass();
    await sleep(CHECK_MS * 4);
    const back = await receiveAfterPublish(consumer, producer, "after");
    expect(back.ids).toEqual(["after"]);
    expect(back.ms).toBeLessThan(1_000);
  }, 30_000);
});
