/**
 * A JetStream pitfall: the group's consumer is deleted on the server (an
 * operator, a lost stream) while a subscription keeps pulling. The
 * subscription must make it again and receive what comes next, not wait on
 * pulls nobody answers.
 */
import { randomUUID } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { OutgoingMessage } from "../../src/transport/transport.js";
import { natsNames } from "../../src/transports/nats/names.js";
import { natsTransport, type NatsTransport } from "../../src/transports/nats/index.js";
import { removeNatsPrefix } from "../support/nats.js";

const SERVER = "127.0.0.1:4222";
const prefix = `del-nats-${randomUUID().slice(0, 8)}`;
const opened: NatsTransport[] = [];

function message(topic: string, id: string): OutgoingMessage {
  return { topic, id, key: undefined, wire: { headers: { "ce-id": id }, body: new TextEncoder().encode(id) } };
}

async function deleteConsumer(stream: string, consumer: string): Promise<void> {
  const nc = await connect({ servers: [SERVER] });
  try {
    expect(await (await jetstreamManager(nc)).consumers.delete(stream, consumer)).toBe(true);
  } finally {
    await nc.close();
  }
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  await removeNatsPrefix(SERVER, prefix);
});

describe("nats - a consumer deleted on the server", () => {
  for (const when of ["while a pull waits", "between pulls"] as const) {
    it(`nats - a consumer deleted ${when} is made again and the subscription receives what is published next`, async () => {
      const t = natsTransport({ servers: [SERVER], prefix });
      opened.push(t);
      const [group, topic] = [`g-${randomUUID()}`, `del-${randomUUID()}`];
      const names = natsNames(prefix);
      const sub = await t.subscribe({ group, topics: [topic], prefetch: 10, ordered: false, leaseMs: 5_000 });
      if (when === "while a pull waits") {
        const waiting = sub.receive(10, 3_000);
        await new Promise((r) => setTimeout(r, 200));
        await deleteConsumer(names.topicStream(topic), names.consumer(group));
        expect(await waiting).toEqual([]);
      } else {
        expect(await sub.receive(10, 200)).toEqual([]);
        await new Promise((r) => setTimeout(r, 300));
        await deleteConsumer(names.topicStream(topic), names.consumer(group));
        expect(await sub.receive(10, 500)).toEqual([]);
      }
      // Give the recreation a moment; a message published to a stream with no consumer is dropped (interest retention).
      const deadline = Date.now() + 10_000;
      let got: string[] = [];
      let n = 0;
      while (got.length === 0 && Date.now() < deadline) {
        expect(await t.publish([message(topic, `after-${n++}`)])).toEqual([undefined]);
        got = (await sub.receive(10, 500)).map((d) => new TextDecoder().decode(d.wire.body));
      }
      expect(got.length).toBeGreaterThan(0);
    });
  }
});
