/** The dashboard in headless Chromium over the shared Redis server (a key prefix per test), the same flows as on SQLite (support/scenario.ts). */
import { randomUUID } from "node:crypto";
import { missive } from "../../src/index.js";
import { redisTransport } from "../../src/transports/redis/index.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";
import { describeConsole } from "./support/scenario.js";

describeConsole("redis", async () => {
  const prefix = `dash-${randomUUID().slice(0, 8)}:`;
  const bus = await missive({ service: "dashboard-test", transport: redisTransport({ url: REDIS_URL, prefix }) });
  return {
    bus,
    source: REDIS_URL,
    cleanup: async () => {
      await bus.close();
      await removeRedisPrefix(REDIS_URL, prefix);
    },
  };
});
