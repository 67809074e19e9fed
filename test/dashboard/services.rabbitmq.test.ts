/** The services part of the dashboard in headless Chromium over the shared RabbitMQ, a vhost per test: reports cross on the missive.status stream. */
import { beforeAll } from "vitest";
import { missive } from "../../src/index.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { shouldSkip } from "../faults/harness/skip.js";
import { createVhost, rabbitmqMissing } from "../support/rabbitmq.js";
import { describeServices } from "./support/services-scenario.js";

let skip = false;
beforeAll(async () => {
  skip = shouldSkip(await rabbitmqMissing(), "dashboard services on rabbitmq");
});

describeServices("rabbitmq", async (reportInterval) => {
  const vhost = await createVhost("dashboard-services");
  const bus = await missive({ service: "services-test", transport: rabbitmqTransport({ url: vhost.url }), reportInterval });
  return {
    bus,
    source: vhost.url,
    cleanup: async () => {
      await bus.close();
      await vhost.remove();
    },
  };
}, { skip: () => skip });
