/**
 * NATS publishing (the shared nats-server at 127.0.0.1:4222): the message id
 * as Nats-Msg-Id removes a producer retry, copies addressed to one group are
 * never removed as duplicates, and concurrent publish calls leave in call
 * order even past the PubAck window.
 */
import { randomUUID } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Delivery, OutgoingMessage } from "../../src/transport/transport.js";
import { natsNames } from "../../src/transports/nats/names.js";
import { natsTransport, type NatsTransport } from "../../src/transports/nats/index.js";
import { removeNatsPrefix } from "../support/nats.js";

const SERVER = "127.0.0.1:4222";
const prefix = `pub-nats-${randomUUID().slice(0, 8)}`;
const opened: NatsTransport[] = [];

function open(window?: number): NatsTransport {
  const t = natsTransport({ servers: [SERVER], prefix, ...(window === undefined ? {} : { publishWindow: window }) });
  opened.push(t);
  return t;
}

function message(topic: string, id: string, group?: string): OutgoingMessage {
  return { topic, id, key: undefined, wire: { headers: { "ce-id": id }, body: new TextEncoder().encode(id) }, ...(group === undefined ? {} : { group }) };
}

async function drain(t: NatsTransport, group: string, topic: string, n: number): Promise<string[]> {
  const sub = await t.subscribe({ group, topics: [topic], prefetch: 1000, ordered: false, leaseMs: 30_000 });
  const got: Delivery[] = [];
  const deadline = Date.now() + 15_000;
  while (got.length < n && Date.now() < deadline) got.push(...(await sub.receive(n - got.length, 1_000)));
  await Promise.all(got.map((d) => d.ack()));
  const extra = await sub.receive(10, 300);
  await sub.close();
  return [...got, ...extra].map((d) => new TextDecoder().decode(d.wire.body));
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  await removeNatsPrefix(SERVER, prefix);
});

describe("nats - publish", () => {
  it("nats - the same message id published twice to a topic is stored once (the stream's duplicate window)", async () => {
    const t = open();
    const [group, topic] = [`g-${randomUUID()}`, `dup-${randomUUID()}`];
    await t.bind(group, [topic]);
    expect(await t.publish([message(topic, "same")])).toEqual([undefined]);
    expect(await t.publish([message(topic, "same")])).toEqual([undefined]);
    const nc = await connect({ servers: [SERVER] });
    try {
      const info = await (await jetstreamManager(nc)).streams.info(natsNames(prefix).topicStream(topic));
      expect(info.state.messages).toBe(1);
    } finally {
      await nc.close();
    }
    expect(await drain(t, group, topic, 1)).toEqual(["same"]);
  });

  // Regression: copies to one group (the delay fill's retries) carried the message id as Nats-Msg-Id, so the
  // second retry of a message inside the duplicate window was confirmed but dropped by the server: lost.
  it("nats - copies addressed to one group under one message id are all stored (retries of the delay fill)", async () => {
    const t = open();
    const [group, topic] = [`g-${randomUUID()}`, `copies-${randomUUID()}`];
    await t.bind(group, [topic]);
    expect(await t.publish([message(topic, "m", group)])).toEqual([undefined]);
    expect(await t.publish([message(topic, "m", group)])).toEqual([undefined]);
    expect(await drain(t, group, topic, 2)).toEqual(["m", "m"]);
  });

  // Regression: the PubAck window was per publish() call, so while one batch's tail waited for window room a
  // later call's messages went out first, breaking per-key order (the bus suite's ordering case).
  it("nats - concurrent publish calls are stored in call order, past the PubAck window", async () => {
    const t = open(4);
    const [group, topic] = [`g-${randomUUID()}`, `order-${randomUUID()}`];
    await t.bind(group, [topic]);
    const batches = Array.from({ length: 5 }, (_, b) => Array.from({ length: 10 }, (_, i) => message(topic, `${b * 10 + i}`)));
    const results = await Promise.all(batches.map((batch) => t.publish(batch)));
    expect(results.flat().every((r) => r === undefined)).toBe(true);
    expect(await drain(t, group, topic, 50)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });
});
