/**
 * The seam suite on NATS JetStream (the shared nats-server at
 * 127.0.0.1:4222). Every stream and subject of the file lives under its own
 * prefix, removed after the file; the suite makes every topic and group
 * name unique. A server that cannot be reached fails the tests (connect
 * rejects); it never skips them.
 */
import { randomUUID } from "node:crypto";
import { connect } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { afterAll } from "vitest";
import { runSeamSuite, seamFeatures } from "../../../src/testing/index.js";
import { natsNames } from "../../../src/transports/nats/names.js";
import { natsTransport, type NatsTransport } from "../../../src/transports/nats/index.js";
import { removeNatsPrefix } from "../../support/nats.js";

const SERVER = "127.0.0.1:4222";
const prefix = `seam-nats-${randomUUID().slice(0, 8)}`;
const open = (): NatsTransport => natsTransport({ servers: [SERVER], prefix });

afterAll(async () => {
  await removeNatsPrefix(SERVER, prefix);
});

// Read from an unconnected transport: capabilities and abilities need no server.
const probe = open();
const features = seamFeatures(probe, { leases: true, exactAttempts: true, countsConsumers: false });
await probe.close();

runSeamSuite<NatsTransport>({
  name: "nats",
  features,
  open,
  // The connection dies with nothing settled; the server redelivers after the ack wait.
  crash: async (t) => t.kill(),
  plain: {
    // A plain NATS client: CloudEvents headers as the NATS binding names them (`ce-*`), raw UTF-8 values.
    async publish(topic, wire) {
      const nc = await connect({ servers: [SERVER] });
      try {
        const h = natsHeaders();
        for (const [name, value] of Object.entries(wire.headers)) h.set(name, value);
        const reply = await nc.request(natsNames(prefix).topicSubject(topic), wire.body, { headers: h, timeout: 5_000 });
        const ack = reply.json<{ error?: { description: string } }>();
        if (ack.error !== undefined) throw new Error(`plain publish refused: ${ack.error.description}`);
      } finally {
        await nc.close();
      }
    },
  },
});
