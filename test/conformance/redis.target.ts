import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import { missive, type Bus, type WireMessage } from "../../src/index.js";
import type { InboxStore } from "../../src/stores/inbox.js";
import { sqliteInboxStore } from "../../src/stores/sqlite/index.js";
import { fromFields } from "../../src/transports/redis/fields.js";
import { redisNames } from "../../src/transports/redis/names.js";
import { redisTransport, type RedisTransport } from "../../src/transports/redis/index.js";
import { plainRedisPublish, REDIS_URL, removeRedisPrefix } from "../support/redis.js";
import type { ConformanceTarget, PlainClient } from "./target.js";

/**
 * A plain Redis client (docs/transports/redis.md): XADD to the topic's
 * stream with the headers as fields and the body in `:body`; takes a
 * group's messages with XREADGROUP + XACK on the group's streams.
 */
export function plainRedis(url: string, prefix: string): PlainClient & { close(): Promise<void> } {
  const redis = new Redis(url);
  const names = redisNames(prefix);
  return {
    publish: (topic, headers, body) => plainRedisPublish(redis, prefix, topic, { headers, body }),
    async take(group, max) {
      const streams = [names.groupStream(group), ...(await redis.smembers(names.topicsOf(group))).map((t) => names.topicStream(t))];
      const reply = (await redis.callBuffer("XREADGROUP", "GROUP", group, "plain", "COUNT", max, "STREAMS", ...streams, ...streams.map(() => ">"))) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
      const out: WireMessage[] = [];
      for (const [stream, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          if (out.length >= max) break;
          out.push(fromFields(fields).wire);
          await redis.xack(stream.toString(), group, id.toString());
        }
      }
      return out;
    },
    async close() {
      redis.disconnect();
    },
  };
}

/** The target on the server `url()` names (read at each test's setup, so a file may start its own). */
export function redisTargetAt(name: string, url: () => string): ConformanceTarget {
  return {
    name,
    capabilities: { nativeDelay: false, ordering: "key", maxMessageBytes: 1024 * 1024, attempts: "exact", leaseRenewal: "transport" },
    async setup() {
      const prefix = `conf-redis-${randomUUID().slice(0, 8)}:`;
      const plain = plainRedis(url(), prefix);
      // One inbox for every bus of a test, in a database file, as services would share one database.
      const dir = mkdtempSync(join(tmpdir(), "missive-redis-inbox-"));
      const database = new Database(join(dir, "inbox.db"));
      const inboxStore = sqliteInboxStore({ database });
      inboxStore.migrate();
      const inbox = inboxStore as InboxStore<unknown>;
      const transports = new Map<Bus, RedisTransport>();
      return {
        leaseMs: 500,
        plain,
        async bus(options) {
          const transport = redisTransport({ url: url(), prefix });
          const bus = await missive({ service: "conformance", inbox, ...options, transport });
          transports.set(bus, transport);
          return bus;
        },
        async kill(bus: Bus) {
          // Every connection dropped with nothing settled, as a crash would: the entries come back when their lease runs out.
          await transports.get(bus)?.kill();
          await bus.close({ deadline: 0 });
        },
        async teardown() {
          await Promise.all([...transports.values()].map((t) => t.close()));
          await plain.close();
          await removeRedisPrefix(url(), prefix);
          inboxStore.close();
          database.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** The shared redis-server. */
export const redisTarget = redisTargetAt("redis", () => REDIS_URL);
