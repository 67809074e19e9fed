/**
 * The release ledger (stream-release-ledger.ts) reads back a barrier before
 * it answers for a redelivered message. After a broker restart every
 * partition of an ordered group redelivers its whole prefetch at once; one
 * barrier round trip per message made an ordered consumer crawl (a handful
 * of messages a second) for minutes after the restart (the RabbitMQ
 * own-node restart fault test, which then timed out). A barrier read back
 * answers for everything that arrived before it was appended.
 */
import { afterEach, describe, expect, it } from "vitest";
import { isMissiveError } from "../../src/errors.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import type { StreamReleaseLedger } from "../../src/transports/rabbitmq/stream-release-ledger.js";
import { rabbitmqFixture } from "./rabbitmq-support.js";

const fx = rabbitmqFixture();
let proxy: TcpProxy | undefined;

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

type Append = (records: readonly unknown[]) => Promise<void>;

describe("rabbitmq release ledger", () => {
  it("rabbitmq - redeliveries that arrived together share one ledger barrier, and a release made before them is still counted", async ({ skip }) => {
    if (fx.skip()) return skip();
    const transport = fx.open();
    await transport.connect();
    const ledger = (transport as unknown as { ledger: StreamReleaseLedger }).ledger;
    const barriers: string[] = [];
    const appender = (ledger as unknown as { appender: { append: Append } }).appender;
    const append = appender.append.bind(appender);
    appender.append = (records) => {
      for (const r of records) if (typeof (r as { sync?: unknown }).sync === "string") barriers.push((r as { sync: string }).sync);
      return append(records);
    };

    await ledger.noteRelease("billing", "released-once", 0);
    const arrivedAt = Date.now();
    const counts: number[] = [];
    // One by one, as an ordered subscription hands its buffer out.
    for (let i = 0; i < 50; i++) counts.push(await ledger.releasesOf("billing", i === 0 ? "released-once" : `other-${i}`, 0, 2, arrivedAt));

    expect(counts[0]).toBe(1);
    expect(counts.slice(1)).toEqual(new Array(49).fill(0));
    expect(barriers).toHaveLength(1);

    // A message that arrives after a release made later still waits for a barrier of its own, and counts it.
    await ledger.noteRelease("billing", "released-later", 0);
    expect(await ledger.releasesOf("billing", "released-later", 0, 2, Date.now())).toBe(1);
    expect(barriers).toHaveLength(2);
    await transport.close();
  });

  it("rabbitmq - a release the broker never confirms fails in bounded time on the ledger's own channel, not at the publisher's confirm timeout", async ({ skip }) => {
    if (fx.skip()) return skip();
    proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
    const url = new URL(fx.vhost().url);
    url.host = `${proxy.host}:${proxy.port}`;
    const transport = rabbitmqTransport({ url: url.toString(), heartbeatSeconds: 60, confirmTimeoutMs: 20_000 });
    try {
      await transport.connect();
      await transport.bind("g", ["t"]);
      const ledger = (transport as unknown as { ledger: StreamReleaseLedger }).ledger;
      await ledger.noteRelease("g", "before", 0);

      await proxy.blackhole();
      const started = Date.now();
      const failure = await ledger.noteRelease("g", "during", 0).then(() => undefined, (err: unknown) => err);
      const ms = Date.now() - started;
      // amqplib's waitForConfirms alone would wait until the heartbeat gave the connection up (two minutes here).
      expect(isMissiveError(failure) && failure.code).toBe("MISSIVE_PUBLISH_TIMEOUT");
      expect(ms).toBeLessThan(15_000);
    } finally {
      transport.destroy();
    }
  }, 60_000);
});
