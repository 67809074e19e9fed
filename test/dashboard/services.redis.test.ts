/** The services part of the dashboard in headless Chromium over the shared Redis server, a key prefix per test: reports cross on the status stream. */
import { randomUUID } from "node:crypto";
import { missive } from "../../src/index.js";
import { redisTransport } from "../../src/transports/redis/index.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";
import { describeServices } from "./support/services-scenario.js";

describeServices("redis", async (reportInterval) => {
  const prefix = `dash-svc-${randomUUID().slice(0, 8)}:`;
  const bus = await missive({ service: "services-test", transport: redisTransport({ url: REDIS_URL, prefix }), reportInterval });
  return {
    bus,
    source: REDIS_URL,
    cleanup: async () => {
      await bus.close();
      await removeRedisPrefix(REDIS_URL, prefix);
    },
  };
});
