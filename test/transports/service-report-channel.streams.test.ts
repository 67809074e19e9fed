/**
 * Service reports on the shared NATS and Redis servers, a prefix per test:
 * written through one transport and read through another (another process,
 * as far as the server can tell), a malformed record another client wrote
 * skipped, reads across more than one page, and the channel bounded (the
 * NATS stream's limits, the Redis stream's cap).
 */
import { randomUUID } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { REPORT_RETENTION_MS } from "../../src/transport/abilities.js";
import { natsTransport, type NatsTransport } from "../../src/transports/nats/index.js";
import { natsNames } from "../../src/transports/nats/names.js";
import { STATUS_MAX_BYTES } from "../../src/transports/nats/service-reports.js";
import { redisTransport, type RedisTransport } from "../../src/transports/redis/index.js";
import { redisNames } from "../../src/transports/redis/names.js";
import { STATUS_MAX_ENTRIES } from "../../src/transports/redis/service-reports.js";
import { removeNatsPrefix } from "../support/nats.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";
import { report, roundTrip } from "./service-report-support.js";

const NATS = "127.0.0.1:4222";

describe("service report channel (nats)", () => {
  const opened: NatsTransport[] = [];
  let prefix: string | undefined;
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
    if (prefix !== undefined) await removeNatsPrefix(NATS, prefix);
    prefix = undefined;
  });

  it("service report channel (nats) - reports on the status stream are read by another connection, past a page; a malformed message is skipped; the stream is bounded by age and size", async () => {
    prefix = `svc-nats-${randomUUID().slice(0, 8)}`;
    const open = (): NatsTransport => {
      const t = natsTransport({ servers: [NATS], prefix });
      opened.push(t);
      return t;
    };
    const writer = open();
    const reader = open();
    expect(await reader.readReports(0)).toEqual([]); // nothing ever reported: no stream, no error
    const since = Date.now();
    await roundTrip(writer, reader, since);

    const names = natsNames(prefix);
    const nc = await connect({ servers: [NATS] });
    try {
      await nc.request(names.statusSubject(), "not json", { timeout: 5_000 });
      await nc.request(names.statusSubject(), JSON.stringify({ ...report("r-2", since + 30), pid: -1 }), { timeout: 5_000 });
      const info = await (await jetstreamManager(nc)).streams.info(names.statusStream());
      expect(info.config.retention).toBe("limits");
      expect(info.config.max_age).toBe(2 * REPORT_RETENTION_MS * 1_000_000);
      expect(info.config.max_bytes).toBe(STATUS_MAX_BYTES);
    } finally {
      await nc.close();
    }
    // More than one fetch's worth (500), in order of the reporters' clocks.
    for (let i = 0; i < 600; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => writer.writeReport(report(`p-${i + j}`, since + 1_000 + i + j))));
    const all = await reader.readReports(since);
    expect(all.length).toBe(602);
    expect(all.slice(0, 2).map((r) => r.reporter)).toEqual(["r-1", "r-1"]);
    expect(all.slice(2).map((r) => r.reporter)).toEqual(Array.from({ length: 600 }, (_, i) => `p-${i}`));
    expect((await reader.readReports(since + 1_500)).length).toBe(100);

    // The stream removed under a running writer (an operator's cleanup): that report fails, the next one makes it again.
    const admin = await connect({ servers: [NATS] });
    try {
      await (await jetstreamManager(admin)).streams.delete(names.statusStream());
    } finally {
      await admin.close();
    }
    await expect(writer.writeReport(report("lost", Date.now()))).rejects.toThrow();
    await writer.writeReport(report("back", Date.now()));
    expect((await reader.readReports(since)).map((r) => r.reporter)).toEqual(["back"]);
  });
});

describe("service report channel (redis)", () => {
  const opened: RedisTransport[] = [];
  let prefix: string | undefined;
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
    if (prefix !== undefined) await removeRedisPrefix(REDIS_URL, prefix);
    prefix = undefined;
  });

  it("service report channel (redis) - reports on the status stream are read by another connection, past a page; a malformed entry is skipped; the stream is capped", async () => {
    prefix = `svc-redis-${randomUUID().slice(0, 8)}:`;
    const open = (): RedisTransport => {
      const t = redisTransport({ url: REDIS_URL, prefix });
      opened.push(t);
      return t;
    };
    const writer = open();
    const reader = open();
    expect(await reader.readReports(0)).toEqual([]);
    const since = Date.now();
    await roundTrip(writer, reader, since);

    const key = redisNames(prefix).status();
    const admin = new Redis(REDIS_URL);
    try {
      await admin.xadd(key, "*", "report", "{\"v\":1");
      await admin.xadd(key, "*", "other", "field");
      await admin.xadd(key, "*", "report", JSON.stringify({ ...report("r-2", since + 30), pid: -1 }));
      for (let i = 0; i < 600; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => writer.writeReport(report(`p-${i + j}`, since + 1_000 + i + j))));
      const all = await reader.readReports(since);
      expect(all.length).toBe(602);
      expect(all.slice(2).map((r) => r.reporter)).toEqual(Array.from({ length: 600 }, (_, i) => `p-${i}`));
      expect((await reader.readReports(since + 1_500)).length).toBe(100);

      // Past the cap, the next report's XADD trims the oldest (whole nodes: a little over the cap stays).
      const filler = admin.pipeline();
      for (let i = 0; i < STATUS_MAX_ENTRIES + 2_000; i++) filler.xadd(key, "*", "report", "{}");
      await filler.exec();
      expect(await admin.xlen(key)).toBeGreaterThan(STATUS_MAX_ENTRIES + 2_000);
      await writer.writeReport(report("r-last", Date.now()));
      const len = await admin.xlen(key);
      expect(len).toBeGreaterThanOrEqual(STATUS_MAX_ENTRIES);
      expect(len).toBeLessThan(STATUS_MAX_ENTRIES + 500);
      expect((await reader.readReports(since)).map((r) => r.reporter)).toEqual(["r-last"]);
    } finally {
      admin.disconnect();
    }
  });
});
