/**
 * amqplib's channel close() waits for the broker's close-ok, and never
 * settles when the connection dies before it comes. closeChannel is awaited
 * inside an ordered subscription's rebalance and join: a close that never
 * ended left the subscription rebalancing for ever after a broker restart,
 * consuming nothing and saying nothing (the own-node restart fault test).
 */
import amqp from "amqplib";
import { describe, expect, it } from "vitest";
import { noopLogger } from "../../src/observability/logger.js";
import { closeChannel } from "../../src/transports/rabbitmq/channel-log.js";
import { rabbitmqFixture } from "./rabbitmq-support.js";

const fx = rabbitmqFixture();

describe("rabbitmq channel close", () => {
  it("rabbitmq - closing a channel ends when the connection dies before the broker answers the close", async ({ skip }) => {
    if (fx.skip()) return skip();
    const model = await amqp.connect(fx.vhost().url);
    model.on("error", () => undefined);
    const ch = await model.createChannel();
    ch.on("error", () => undefined);
    // A bound far above the test's: only the channel's own 'close' can end the wait in time.
    const closing = closeChannel(ch, { log: noopLogger }, "test", 120_000);
    // The close frame is written; the socket goes before its close-ok can come back.
    (model.connection as unknown as { stream: { destroy(err: Error): void } }).stream.destroy(new Error("connection reset (test)"));
    const started = Date.now();
    await closing;
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("rabbitmq - closing a channel the broker already closed ends at once", async ({ skip }) => {
    if (fx.skip()) return skip();
    const model = await amqp.connect(fx.vhost().url);
    model.on("error", () => undefined);
    try {
      const ch = await model.createChannel();
      ch.on("error", () => undefined);
      await ch.checkQueue(`missing-${Date.now()}`).catch(() => undefined); // 404 closes the channel
      const started = Date.now();
      await closeChannel(ch, { log: noopLogger }, "test", 120_000);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await model.close();
    }
  });
});
