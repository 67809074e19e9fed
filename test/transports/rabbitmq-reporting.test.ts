/**
 * The RabbitMQ transport logs through the bus's logger and reports what an
 * operator must see as `transport` status events. Regression: a consumer
 * whose queue was deleted retried forever with every error swallowed, and a
 * lost connection left no trace.
 */
import amqp from "amqplib";
import { afterEach, describe, expect, it } from "vitest";
import { missive, type Bus, type StatusEvent } from "../../src/index.js";
import type { TransportEvent } from "../../src/transport/transport.js";
import { Ping } from "../conformance/contracts.js";
import { RABBITMQ_PORT } from "../support/rabbitmq.js";
import { recordingLogger } from "../support/recording-logger.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { uniqueName, waitFor } from "../support/wait.js";
import { rabbitmqFixture } from "./rabbitmq-support.js";

const fx = rabbitmqFixture();
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined); // teardown: the test already passed or failed
});

function transportEvents(bus: Bus): TransportEvent[] {
  const events: TransportEvent[] = [];
  bus.onStatus((e: StatusEvent) => {
    if (e.type === "transport") events.push(e.event);
  });
  return events;
}

describe("rabbitmq reporting", () => {
  it("rabbitmq reporting - a consumer whose queue is deleted reports failing with the 404, logs an error, and reports resumed once the queue is back", async ({ skip }) => {
    if (fx.skip()) return skip();
    const group = uniqueName("reporting");
    const log = recordingLogger();
    const bus = await missive({ service: "reporting", transport: fx.open(), logger: log });
    cleanup.push(() => bus.close({ deadline: "1s" }));
    const events = transportEvents(bus);
    const handled: number[] = [];
    const consumer = bus.consume(Ping, { group }, async (m) => void handled.push(m.n));
    await consumer.ready;
    await bus.publish(Ping, { n: 1 });
    await waitFor(() => handled.length === 1, 15_000, "the first message handled");

    const admin = await amqp.connect(fx.vhost().url);
    cleanup.push(() => admin.close());
    const ch = await admin.createChannel();
    await ch.deleteQueue(group);

    const failing = (): TransportEvent | undefined => events.find((e) => e.kind === "subscription" && e.state === "failing");
    await waitFor(() => failing() !== undefined, 20_000, "a subscription failing event");
    expect(failing()).toMatchObject({ kind: "subscription", group, state: "failing", reason: expect.stringMatching(/404|NOT_FOUND/) });
    expect(log.at("error", "consuming group").some((l) => l.obj["group"] === group)).toBe(true);

    // An operator puts the queue and its binding back: the consumer resumes by itself.
    await ch.assertQueue(group, { durable: true, arguments: { "x-queue-type": "quorum" } });
    await ch.bindQueue(group, Ping.type, "");
    await waitFor(() => events.some((e) => e.kind === "subscription" && e.state === "resumed"), 20_000, "a subscription resumed event");
    await bus.publish(Ping, { n: 2 });
    await waitFor(() => handled.includes(2), 15_000, "a message handled after the queue came back");
  }, 60_000);

  it("rabbitmq reporting - a cut connection reports connection down with its reason, then up", async ({ skip }) => {
    if (fx.skip()) return skip();
    const proxy: TcpProxy = await startTcpProxy({ upstreamPort: RABBITMQ_PORT });
    cleanup.push(() => proxy.stop());
    const url = new URL(fx.vhost().url);
    url.port = String(proxy.port);
    const log = recordingLogger();
    const bus = await missive({ service: "reporting", transport: fx.open({ url: url.toString() }), logger: log });
    cleanup.push(() => bus.close({ deadline: "1s" }));
    const events = transportEvents(bus);
    const consumer = bus.consume(Ping, { group: uniqueName("reporting-cut") }, async () => undefined);
    await consumer.ready;

    proxy.reset();
    await waitFor(() => events.some((e) => e.kind === "connection" && e.state === "up"), 20_000, "connection up after the cut");
    const connection = events.filter((e) => e.kind === "connection");
    expect(connection.map((e) => e.state)).toEqual(["down", "up"]);
    expect(connection[0]).toMatchObject({ reason: expect.any(String) });
    expect(log.at("warn", "connection lost").length).toBe(1);
  }, 60_000);
});
