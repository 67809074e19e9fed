/**
 * The backlog per key read from the broker (KeyBacklogInspection) on the
 * queue-table transports: keyed rows counted per group and key, the most
 * first, with the oldest one's time; held rows still count (a key's backlog
 * is what is not handled yet), handled ones do not; unkeyed rows are not
 * keys. The stream brokers do not claim the ability.
 */
import { afterEach, describe, expect, it } from "vitest";
import { inspectsKeyBacklog, type KeyBacklogInspection } from "../../src/transport/abilities.js";
import type { Transport } from "../../src/transport/transport.js";
import { natsTransport } from "../../src/transports/nats/index.js";
import { postgresTransport, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { redisTransport } from "../../src/transports/redis/index.js";
import { dropPrefix, PG_URL, pgPrefix } from "../support/postgres.js";
import { uniqueName } from "../support/wait.js";
import { message, sqliteFixture, subOptions } from "./sqlite-support.js";

async function backlogScenario(t: Transport & KeyBacklogInspection): Promise<void> {
  const group = uniqueName("kb-orders");
  const other = uniqueName("kb-other");
  const topic = uniqueName("kb-topic");
  await t.bind(group, [topic]);
  await t.bind(other, [topic]);
  const before = Date.now() - 1_000; // the database's clock may run a little apart from ours
  const batch = [
    ...Array.from({ length: 5 }, (_, i) => message(topic, `hot-${i}`, "k-hot")),
    ...Array.from({ length: 2 }, (_, i) => message(topic, `warm-${i}`, "k-warm")),
    message(topic, "cold-0", "k-cold"),
    message(topic, "plain-0"),
  ];
  await t.publish(batch);
  const after = Date.now() + 1_000;

  const all = await t.keyBacklog(100);
  const mine = all.filter((k) => k.group === group);
  expect(mine.map((k) => [k.key, k.waiting])).toEqual([["k-hot", 5], ["k-warm", 2], ["k-cold", 1]]);
  for (const k of mine) {
    expect(k.oldestAt).not.toBeNull();
    expect(k.oldestAt!).toBeGreaterThanOrEqual(before);
    expect(k.oldestAt!).toBeLessThanOrEqual(after);
  }
  expect(all.filter((k) => k.group === other).map((k) => k.waiting)).toEqual([5, 2, 1]);
  expect((await t.keyBacklog(1)).length).toBe(1);

  // A held row is still waiting to be handled; an acked one is gone.
  const sub = await t.subscribe(subOptions(group, [topic], { prefetch: 10 }));
  const got = await sub.receive(10, 2_000);
  expect(got.length).toBeGreaterThan(0);
  expect((await t.keyBacklog(100)).filter((k) => k.group === group).reduce((n, k) => n + k.waiting, 0)).toBe(8);
  const hot = got.find((d) => d.key === "k-hot")!;
  await hot.ack();
  expect((await t.keyBacklog(100)).find((k) => k.group === group && k.key === "k-hot")?.waiting).toBe(4);
  await sub.close();
}

describe("key backlog (sqlite)", () => {
  const fx = sqliteFixture();
  it("key backlog (sqlite) - keyed rows per group and key, most first, with the oldest one's time; held rows count, handled ones do not", async () => {
    const t = fx.open();
    await t.connect();
    await backlogScenario(t);
  });
});

describe("key backlog (postgres)", () => {
  let t: PostgresTransport | undefined;
  let prefix: string | undefined;
  afterEach(async () => {
    await t?.close();
    if (prefix !== undefined) await dropPrefix(prefix);
    t = undefined;
    prefix = undefined;
  });
  it("key backlog (postgres) - keyed rows per group and key, most first, with the oldest one's time; held rows count, handled ones do not", async () => {
    prefix = pgPrefix();
    t = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix });
    await t.connect();
    await backlogScenario(t);
  });
});

describe("key backlog (stream brokers)", () => {
  it("key backlog - RabbitMQ, NATS and Redis do not claim to tell a backlog per key (the dashboard says they cannot)", () => {
    expect(inspectsKeyBacklog(rabbitmqTransport({ url: "amqp://127.0.0.1:5672" }))).toBe(false);
    expect(inspectsKeyBacklog(natsTransport({ servers: ["127.0.0.1:4222"] }))).toBe(false);
    expect(inspectsKeyBacklog(redisTransport({ url: "redis://127.0.0.1:6379" }))).toBe(false);
  });
});
