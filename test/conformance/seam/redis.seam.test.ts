/**
 * The seam suite on Redis Streams (the shared redis-server at
 * 127.0.0.1:6379). Every key of the file lives under its own prefix,
 * removed after the file; the suite makes every topic and group name
 * unique. A server that cannot be reached fails the tests (connect
 * rejects); it never skips them.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll } from "vitest";
import { runSeamSuite, seamFeatures } from "../../../src/testing/index.js";
import { redisTransport, type RedisTransport } from "../../../src/transports/redis/index.js";
import { plainRedisPublish, REDIS_URL, removeRedisPrefix } from "../../support/redis.js";

const prefix = `seam-redis-${randomUUID().slice(0, 8)}:`;
const open = (): RedisTransport => redisTransport({ url: REDIS_URL, prefix });

afterAll(async () => {
  await removeRedisPrefix(REDIS_URL, prefix);
});

// Read from an unconnected transport: capabilities and abilities need no server.
const probe = open();
const features = seamFeatures(probe, { leases: true, exactAttempts: true, countsConsumers: false });
await probe.close();

runSeamSuite<RedisTransport>({
  name: "redis",
  features,
  open,
  // Every connection dies with nothing settled; the entries stay pending until their lease runs out.
  crash: async (t) => t.kill(),
  // Renewals stop and the held entries are made idle past any lease: the next claim of another consumer takes them.
  expireLeases: async (t) => t.expireLeases(),
  plain: {
    async publish(topic, wire) {
      const redis = new Redis(REDIS_URL);
      try {
        await plainRedisPublish(redis, prefix, topic, wire);
      } finally {
        redis.disconnect();
      }
    },
  },
});
