/**
 * The seam suite on RabbitMQ (127.0.0.1:5672): one virtual host for the
 * file (the suite makes every name unique, so tests share it; a vhost per
 * test costs seconds of rabbitmqctl each). A broker that cannot be reached
 * fails the tests (creating the vhost fails); it never skips them.
 */
import amqp from "amqplib";
import { afterAll, beforeAll } from "vitest";
import { runSeamSuite, seamFeatures } from "../../../src/testing/index.js";
import { rabbitmqTransport, type RabbitmqTransport } from "../../../src/transports/rabbitmq/index.js";
import { createVhost, type TestVhost } from "../../support/rabbitmq.js";

let vhost: TestVhost | undefined;
const url = (): string => {
  if (vhost === undefined) throw new Error("rabbitmq seam target: no vhost (beforeEach failed)");
  return vhost.url;
};

beforeAll(async () => {
  vhost = await createVhost("seam");
});
afterAll(async () => {
  await vhost?.remove();
  vhost = undefined;
});

// Read from an unconnected transport: capabilities and abilities need no broker.
const probe = rabbitmqTransport({ url: "amqp://guest:guest@127.0.0.1:5672/" });
const features = seamFeatures(probe, { leases: false, exactAttempts: true, countsConsumers: true });
await probe.close();

runSeamSuite<RabbitmqTransport>({
  name: "rabbitmq",
  features,
  // Two partitions per ordered group, not the default 16: the suite subscribes ordered in every test, and a
  // vhost holding hundreds of quorum queues slows the shared broker to connection timeouts. Partitioning
  // itself (16, two processes, SIGKILL) is proven by test/faults/rabbitmq-key-order-processes.test.ts.
  open: () => rabbitmqTransport({ url: url(), reconnectMaxMs: 500, partitions: 2 }),
  // The connection dies with nothing settled; the broker takes back what was unacked.
  crash: async (t) => t.destroy(),
  plain: {
    // A plain amqplib client with the CloudEvents AMQP binding (docs/transports/rabbitmq.md).
    async publish(topic, wire) {
      const connection = await amqp.connect(url());
      try {
        const ch = await connection.createConfirmChannel();
        const headers: Record<string, string> = {};
        let contentType: string | undefined;
        for (const [name, value] of Object.entries(wire.headers)) {
          if (name === "content-type") contentType = value;
          else if (name.startsWith("ce-")) headers[`cloudEvents_${name.slice(3)}`] = value;
          else headers[name] = value;
        }
        ch.publish(topic, "", Buffer.from(wire.body), { persistent: true, headers, ...(contentType === undefined ? {} : { contentType }) });
        await ch.waitForConfirms();
      } finally {
        await connection.close();
      }
    },
  },
});
