/** The dashboard in headless Chromium over the shared NATS server (a prefix per test), the same flows as on SQLite (support/scenario.ts). */
import { randomUUID } from "node:crypto";
import { missive } from "../../src/index.js";
import { natsTransport } from "../../src/transports/nats/index.js";
import { removeNatsPrefix } from "../support/nats.js";
import { describeConsole } from "./support/scenario.js";

const SERVER = "127.0.0.1:4222";

describeConsole("nats", async () => {
  const prefix = `dash-${randomUUID().slice(0, 8)}`;
  const bus = await missive({ service: "dashboard-test", transport: natsTransport({ servers: [SERVER], prefix }) });
  return {
    bus,
    source: `nats://${SERVER}?prefix=${prefix}`,
    cleanup: async () => {
      await bus.close();
      await removeNatsPrefix(SERVER, prefix);
    },
  };
});
