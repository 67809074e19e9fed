/** The services part of the dashboard in headless Chromium over the shared NATS server, a prefix per test: reports cross on the status stream. */
import { randomUUID } from "node:crypto";
import { missive } from "../../src/index.js";
import { natsTransport } from "../../src/transports/nats/index.js";
import { removeNatsPrefix } from "../support/nats.js";
import { describeServices } from "./support/services-scenario.js";

const SERVER = "127.0.0.1:4222";

describeServices("nats", async (reportInterval) => {
  const prefix = `dash-svc-${randomUUID().slice(0, 8)}`;
  const bus = await missive({ service: "services-test", transport: natsTransport({ servers: [SERVER], prefix }), reportInterval });
  return {
    bus,
    source: `nats://${SERVER}?prefix=${prefix}`,
    cleanup: async () => {
      await bus.close();
      await removeNatsPrefix(SERVER, prefix);
    },
  };
});
