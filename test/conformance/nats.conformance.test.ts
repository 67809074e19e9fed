/**
 * The bus suite on NATS JetStream, on a nats-server 2.9 of the file's own
 * with max_payload 8 MiB: the suite's oversized poison case has a plain
 * client publish a body over missive's default 1 MiB limit, which a server
 * at its default max_payload (1 MB, the shared one's) refuses before
 * missive can see it (docs/transports/nats.md, Limits). Everything else in
 * the suite passes on the shared server too (test/conformance/nats.attributes.test.ts
 * and nats.expiry-priority.test.ts run there).
 */
import { afterAll, beforeAll } from "vitest";
import { startBroker, type BrokerProcess } from "../support/broker-process.js";
import { natsTargetAt } from "./nats.target.js";
import { runConformance } from "./suite.js";

let server: BrokerProcess | undefined;

beforeAll(async () => {
  server = await startBroker("nats", { maxPayload: 8 * 1024 * 1024 });
});
afterAll(async () => {
  await server?.stop();
});

runConformance(natsTargetAt("nats (max_payload 8 MiB)", () => {
  if (server === undefined) throw new Error("nats conformance: the server did not start");
  return `127.0.0.1:${server.port}`;
}));
