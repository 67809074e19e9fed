import amqp from "amqplib";
import { describe, expect, it } from "vitest";
import { AuthenticationError, ConfigurationError, ConnectionError, LeaseLostError } from "../../src/errors.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { sleep } from "../support/wait.js";
import { bodies, bodyOf, message, rabbitmqFixture, receiveAtLeast, subOptions, wire } from "./rabbitmq-support.js";

describe("rabbitmq transport", () => {
  const fx = rabbitmqFixture();

  it("rabbitmq - CloudEvents attributes travel as cloudEvents_* properties and headers for plain clients", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = fx.open();
    await t.connect();
    const sub = await t.subscribe(subOptions("billing", ["order.created"], { ordered: false }));
    // What a plain amqplib consumer sees: the CloudEvents AMQP binding.
    await t.publish([{ topic: "order.created", id: "m2", key: undefined, wire: wire("{}", { "ce-id": "m2", "ce-type": "order.created", "content-type": "application/json" }) }]);
    await sub.close();
    const c = await amqp.connect(fx.vhost().url);
    const ch = await c.createChannel();
    const got = await ch.get("billing", { noAck: true });
    await c.close();
    expect(got && got.properties.headers).toMatchObject({ cloudEvents_id: "m2", cloudEvents_type: "order.created" });
    expect(got && got.properties).toMatchObject({ contentType: "application/json", messageId: "m2", deliveryMode: 2 });
  });

  it("rabbitmq - a wrong password fails fast with AuthenticationError and never shows the password", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = rabbitmqTransport({ url: fx.vhost().url.replace("guest:guest", "guest:s3cret-wrong") });
    const started = Date.now();
    const err = await t.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(String((err as Error).message)).not.toContain("s3cret-wrong");
    expect(Date.now() - started).toBeLessThan(10_000);
    await t.close();
  });

  it("rabbitmq - nothing listening is a ConnectionError; options and names are checked with typed errors", async ({ skip }) => {
    if (fx.skip()) return skip();
    const proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
    await proxy.refuse();
    const t = rabbitmqTransport({ url: `amqp://guest:pw@127.0.0.1:${proxy.port}/` });
    const err = await t.connect().catch((e: unknown) => e);
    await proxy.stop();
    await t.close();
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).not.toContain("pw@");
    for (const bad of [{ url: "http://x" }, { url: "amqp://h", queueType: "lazy" }, { url: "amqp://h", publishWindow: 0 }, { url: "amqp://h", declare: "no" }, null]) {
      expect(() => rabbitmqTransport(bad as never), JSON.stringify(bad)).toThrow(ConfigurationError);
    }
    const ok = fx.open();
    for (const group of ["", "x.dlq", "amq.q", "missive.delay.L1.g:x", "a\u0000b", "g".repeat(300), 5]) {
      await expect(ok.bind(group as string, ["t"]), JSON.stringify(group)).rejects.toBeInstanceOf(ConfigurationError);
    }
    await expect(ok.bind("fine", ["amq.direct"])).rejects.toBeInstanceOf(ConfigurationError);
  });

  it("rabbitmq - a connection attempt into a blackhole gives up after connectTimeoutMs with a ConnectionError", async ({ skip }) => {
    if (fx.skip()) return skip();
    const proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
    await proxy.blackhole();
    const t = rabbitmqTransport({ url: `amqp://guest:guest@127.0.0.1:${proxy.port}/`, connectTimeoutMs: 300 });
    const started = Date.now();
    const err = await t.connect().catch((e: unknown) => e);
    const took = Date.now() - started;
    await proxy.stop();
    await t.close();
    expect(err).toBeInstanceOf(ConnectionError);
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(5000);
    expect(() => rabbitmqTransport({ url: "amqp://h", connectTimeoutMs: 0 })).toThrow(ConfigurationError);
  });

  it("rabbitmq - a delay past the longest delay level fails alone with ConfigurationError", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = fx.open();
    await t.bind("delayed", ["tick"]);
    const [tooLong] = await t.publish([message("tick", "far", undefined, { delayMs: 90 * 24 * 3600 * 1000 })]);
    expect(tooLong).toBeInstanceOf(ConfigurationError);
  });

  it("rabbitmq - a lost connection comes back by itself: the consumer re-attaches, unacked messages return, held deliveries are lost leases", async ({ skip }) => {
    if (fx.skip()) return skip();
    const proxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
    try {
      const url = fx.vhost().url.replace(`:${RABBITMQ_PORT}/`, `:${proxy.port}/`);
      const t = fx.open({ url, reconnectBaseMs: 20, reconnectMaxMs: 200 });
      const sub = await t.subscribe(subOptions("survivor", ["e"], { ordered: false, prefetch: 50 }));
      expect(await t.publish(Array.from({ length: 20 }, (_, i) => message("e", `m${i}`)))).toEqual(new Array(20).fill(undefined));
      const first = await receiveAtLeast(sub, 20, 5000);
      expect(first).toHaveLength(20);
      for (const d of first.slice(0, 5)) await d.ack();
      // Handlers start for five of the held ones; the other ten wait unstarted (issue 14: they gain no attempt).
      const startedBodies = new Set(first.slice(5, 10).map(bodyOf));
      expect(first.slice(5, 10).map((d) => d.start?.())).toEqual(new Array(5).fill(true));
      await sleep(200); // acks are asynchronous in AMQP: let them reach the broker before the cut
      proxy.reset();
      await sleep(300); // the RST reaches the client's socket
      await expect(first[5]!.ack()).rejects.toBeInstanceOf(LeaseLostError);
      expect(first[10]!.start?.()).toBe(false); // lost with its channel: the runtime would drop it unstarted
      // Publishing while the connection is down waits for the reconnect.
      expect(await t.publish([message("e", "during")])).toEqual([undefined]);
      const again = await receiveAtLeast(sub, 16, 15_000);
      expect(bodies(again).sort()).toEqual([...first.slice(5).map(bodyOf), "during"].sort());
      expect(again.map((d) => `${bodyOf(d)}:${d.attempt}`).sort()).toEqual(again.map((d) => `${bodyOf(d)}:${startedBodies.has(bodyOf(d)) ? 2 : 1}`).sort());
      for (const d of again) await d.ack();
    } finally {
      await proxy.stop();
    }
  });

  it("rabbitmq - with declare: false a missing queue is a clear ConfigurationError; after declareTopology it works", async ({ skip }) => {
    if (fx.skip()) return skip();
    const service = fx.open({ declare: false });
    const err = await service.subscribe(subOptions("locked", ["evt"], { ordered: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toContain("missive topology");
    const admin = fx.open();
    await admin.declareTopology("locked", ["evt"]);
    const sub = await service.subscribe(subOptions("locked", ["evt"], { ordered: false }));
    expect(await service.publish([message("evt", "x", undefined, { delayMs: 250 })])).toEqual([undefined]);
    const [d] = await receiveAtLeast(sub, 1, 10_000);
    expect(bodyOf(d!)).toBe("x");
  });

  it("rabbitmq - hostile headers from a plain client: any AMQP type becomes a string, __proto__ and broker headers are not the message's", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = fx.open();
    const sub = await t.subscribe(subOptions("hostile", ["h"], { ordered: false }));
    const c = await amqp.connect(fx.vhost().url);
    const ch = await c.createConfirmChannel();
    ch.publish("h", "", Buffer.from("x"), {
      headers: {
        "cloudEvents:id": "colon-form", cloudEvents_type: "h", "X-Upper": "v", n: 42, f: 1.5, yes: true, tbl: { a: 1 }, arr: [1, "two"],
        ["__proto__"]: "p", "x-death": [{ count: 9 }], "x-delivery-count": 99, "x-missive-attempts": "7", constructor: "c",
      },
    });
    await ch.waitForConfirms();
    await c.close();
    const [d] = await receiveAtLeast(sub, 1, 5000);
    const h = d!.wire.headers;
    expect(Object.getPrototypeOf(h)).toBe(null);
    expect(h["ce-id"]).toBe("colon-form");
    expect(h["ce-type"]).toBe("h");
    expect(h["x-upper"]).toBe("v");
    expect(h["n"]).toBe("42");
    expect(h["yes"]).toBe("true");
    expect(JSON.parse(h["tbl"]!)).toEqual({ a: 1 });
    expect(h["x-death"]).toBeUndefined();
    expect(h["x-delivery-count"]).toBeUndefined();
    expect(h["x-missive-attempts"]).toBeUndefined();
    expect(h["constructor"]).toBe("c");
    expect(({} as Record<string, unknown>)["p"]).toBeUndefined();
    // Counts a plain client forges are read as the broker's and missive's own would be, within bounds: never below 1.
    expect(d!.attempt).toBeGreaterThanOrEqual(1);
    await d!.ack();
  });

  it("rabbitmq - the confirm window bounds outstanding publishes, and many concurrent batches all confirm", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = fx.open({ publishWindow: 8 });
    await t.bind("window", ["w"]);
    const batches = Array.from({ length: 50 }, (_, b) => t.publish(Array.from({ length: 40 }, (_, i) => message("w", `b${b}-${i}`))));
    const results = (await Promise.all(batches)).flat();
    expect(results).toHaveLength(2000);
    expect(results.every((r) => r === undefined)).toBe(true);
    const c = await amqp.connect(fx.vhost().url);
    const ch = await c.createChannel();
    expect((await ch.checkQueue("window")).messageCount).toBe(2000);
    await c.close();
  });
});
