/**
 * A bind's topology is looked up at once and streams already seen on the connection are not looked up again
 * (topology.ts). What must not change: a stream deleted on the server behind that memory is made again, and an
 * unordered subscribe to an ordered group is refused before it makes anything.
 */
import { randomUUID } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/errors.js";
import { encodeToken, natsNames } from "../../src/transports/nats/names.js";
import { natsTransport, type NatsTransport } from "../../src/transports/nats/index.js";
import { removeNatsPrefix } from "../support/nats.js";

const SERVER = "127.0.0.1:4222";
const prefix = `topo-nats-${randomUUID().slice(0, 8)}`;
const names = natsNames(prefix);
const opened: NatsTransport[] = [];
const side: NatsConnection[] = [];

function transport(): NatsTransport {
  const t = natsTransport({ servers: [SERVER], prefix });
  opened.push(t);
  return t;
}

async function jsm(): Promise<Awaited<ReturnType<typeof jetstreamManager>>> {
  const nc = await connect({ servers: [SERVER] });
  side.push(nc);
  return jetstreamManager(nc);
}

/** The JetStream API subjects on this test's streams requested while `run` runs, seen from a second connection (the server is shared). */
async function requestsOf(run: () => Promise<unknown>): Promise<string[]> {
  const nc = await connect({ servers: [SERVER] });
  side.push(nc);
  const seen: string[] = [];
  nc.subscribe("$JS.API.>", { callback: (_err, m) => { seen.push(m.subject); } });
  await nc.flush();
  await run();
  await nc.flush();
  const ours = `.${encodeToken(prefix).toUpperCase()}_`;
  return seen.filter((s) => s.includes(ours) && !s.startsWith("$JS.API.CONSUMER.MSG.NEXT."));
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
  await Promise.all(side.splice(0).map((nc) => nc.close()));
});
afterAll(async () => {
  await removeNatsPrefix(SERVER, prefix);
});

describe("nats - topology", () => {
  it("nats - a second bind on one connection looks up only the consumers, one request each", async () => {
    const t = transport();
    const [group, topic] = [`g-${randomUUID()}`, `t-${randomUUID()}`];
    await t.bind(group, [topic]);
    const again = await requestsOf(() => t.bind(group, [topic]));
    expect(again.sort()).toEqual([
      `$JS.API.CONSUMER.INFO.${names.groupStream(group)}.${names.consumer(group)}`,
      `$JS.API.CONSUMER.INFO.${names.topicStream(topic)}.${names.consumer(group)}`,
    ].sort());
  });

  it("nats - a topic stream deleted on the server after a bind is made again, with its consumer, by the next bind", async () => {
    const t = transport();
    const [group, topic] = [`g-${randomUUID()}`, `t-${randomUUID()}`];
    await t.bind(group, [topic]);
    const m = await jsm();
    expect(await m.streams.delete(names.topicStream(topic))).toBe(true);
    await t.bind(group, [topic]);
    const info = await m.streams.info(names.topicStream(topic));
    expect(info.config.subjects).toEqual([names.topicSubject(topic), `${names.topicSubject(topic)}.>`]);
    expect((await m.consumers.info(names.topicStream(topic), names.consumer(group))).config.durable_name).toBe(names.consumer(group));
    expect(await t.publish([{ topic, id: "after", key: undefined, wire: { headers: { "ce-id": "after" }, body: new Uint8Array([1]) } }])).toEqual([undefined]);
  });

  it("nats - an unordered subscribe to an ordered group is refused before it makes the stream of a topic it adds", async () => {
    const t = transport();
    const [group, topic, extra] = [`g-${randomUUID()}`, `t-${randomUUID()}`, `x-${randomUUID()}`];
    const ordered = await t.subscribe({ group, topics: [topic], prefetch: 1, ordered: true, leaseMs: 5_000 });
    await ordered.close();
    await expect(t.subscribe({ group, topics: [extra, topic], prefetch: 1, ordered: false, leaseMs: 5_000 })).rejects.toBeInstanceOf(ConfigurationError);
    const m = await jsm();
    await expect(m.streams.info(names.topicStream(extra))).rejects.toThrow(/stream not found/i);
  });
});
