/**
 * The release ledger (stream-release-ledger.ts) reads back a barrier before
 * it answers for a redelivered message. After a broker restart every
 * partition of an ordered group redelivers its whole prefetch at once; one
 * barrier round trip per message made an ordered consumer crawl (a handful
 * of messages a second) for minutes after the restart (the RabbitMQ
 * own-node restart fault test, which then timed out). A barrier read back
 * answers for everything that arrived before it was appended.
 */
import { describe, expect, it } from "vitest";
import type { OutgoingMessage, PublishResult } from "../../src/transport/transport.js";
import type { StreamReleaseLedger } from "../../src/transports/rabbitmq/stream-release-ledger.js";
import { rabbitmqFixture } from "./rabbitmq-support.js";

const fx = rabbitmqFixture();

type Publish = (batch: readonly OutgoingMessage[]) => Promise<PublishResult[]>;

describe("rabbitmq release ledger", () => {
  it("rabbitmq - redeliveries that arrived together share one ledger barrier, and a release made before them is still counted", async ({ skip }) => {
    if (fx.skip()) return skip();
    const transport = fx.open();
    await transport.connect();
    const ledger = (transport as unknown as { ledger: StreamReleaseLedger }).ledger;
    const barriers: string[] = [];
    const inner = ledger as unknown as { publish: Publish };
    const publish = inner.publish;
    inner.publish = (batch) => {
      for (const m of batch) if (Buffer.from(m.wire.body).toString("utf8").includes("\"sync\"")) barriers.push(m.id);
      return publish(batch);
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
  });
});
