/**
 * reply-command.ts: a command built without ioredis's own promise (whose
 * executor's closures kept replies until a mark-compact, issue 17) still
 * behaves as one: raw Buffer replies, arguments sent as ioredis sends them,
 * error replies and timeouts as rejections, its timeout timer stopped once
 * it settles.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { replyCommand } from "../../src/transports/redis/reply-command.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";

const prefix = `reply-command-${randomUUID().slice(0, 8)}:`;
const redis = new Redis(REDIS_URL, { commandTimeout: 200 });

afterAll(async () => {
  await removeRedisPrefix(REDIS_URL, prefix);
  redis.disconnect();
});

describe("redis - reply command", () => {
  it("reply command - resolves with the reply as ioredis parsed it, Buffers included", async () => {
    const bytes = Buffer.from([0x80, 0xff, 0x00, 0x0d, 0x0a, 0x7b]);
    await redis.set(`${prefix}a`, bytes);
    await expect(redis.sendCommand(replyCommand("get", [`${prefix}a`]))).resolves.toEqual(bytes);
    await expect(redis.sendCommand(replyCommand("get", [`${prefix}missing`]))).resolves.toBeNull();
  });

  it("reply command - sends numbers and Buffers as arguments", async () => {
    const reply = await redis.sendCommand(replyCommand("eval", ["return {KEYS[1], ARGV[1], ARGV[2]}", 1, `${prefix}k`, 42, Buffer.from([0xfe, 0x01])]));
    expect(reply).toEqual([Buffer.from(`${prefix}k`), Buffer.from("42"), Buffer.from([0xfe, 0x01])]);
  });

  it("reply command - an error reply rejects", async () => {
    await redis.set(`${prefix}s`, "x");
    await expect(redis.sendCommand(replyCommand("lpush", [`${prefix}s`, "y"]))).rejects.toThrow(/WRONGTYPE/);
  });

  it("reply command - times out with the connection's commandTimeout, and stops its timer once answered", async () => {
    const blocked = new Redis(REDIS_URL, { commandTimeout: 100 });
    try {
      await expect(blocked.sendCommand(replyCommand("blpop", [`${prefix}empty`, 5]))).rejects.toThrow(/timed out/);
    } finally {
      blocked.disconnect();
    }
    const answered = replyCommand("ping", []);
    await redis.sendCommand(answered);
    await new Promise((resolve) => setImmediate(resolve));
    expect((answered as unknown as { _commandTimeoutTimer?: unknown })._commandTimeoutTimer).toBeUndefined();
  });
});
