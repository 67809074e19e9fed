/**
 * The command a subscription sends along with a turn's acks (the read that
 * refills their places, subscription.ts readAlong) goes in the acks' own
 * pipeline, one write; its reply is handed over before any ack resolves (so
 * the refill is buffered by the time the consumer asks again), and a failed
 * pipeline hands it the error as it rejects the acks.
 */
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { SettleBatch, type SettlePipeline } from "../../src/transports/redis/settle-batch.js";

interface FakePipeline {
  readonly commands: string[];
  readonly pipeline: SettlePipeline;
}

/** A pipeline that records its commands and answers exec with `answer` (verdict 1 for every settled entry). */
function fakeRedis(answer: (commands: string[]) => Promise<Array<[Error | null, unknown]>>): { redis: Redis; pipelines: FakePipeline[] } {
  const pipelines: FakePipeline[] = [];
  const redis = {
    pipeline(): SettlePipeline {
      const commands: string[] = [];
      const p = {
        missiveStarts: () => (commands.push("starts"), p),
        // The entries, and the code they all have when they have one (after group "g", consumer, delete, lowest and highest).
        missiveSettleMany: (...args: Array<string | number>) => (commands.push(`settle ${args.slice(args.indexOf("g") + 5).join(" | ")}`), p),
        callBuffer: (name: string) => (commands.push(name), p),
        exec: () => answer(commands),
      } as unknown as SettlePipeline;
      pipelines.push({ commands, pipeline: p });
      return p;
    },
  } as unknown as Redis;
  return { redis, pipelines };
}

const links = (redis: Redis, along: ConstructorParameters<typeof SettleBatch>[0]["along"], eagerAt?: number) => ({
  redis, group: "g", consumer: "c", starts: "n", startsLost: () => undefined, along, eagerAt,
});

describe("redis - a read sent along with a turn's acks", () => {
  it("redis - goes in the acks' pipeline, and its reply is handed over before any ack resolves", async () => {
    const { redis, pipelines } = fakeRedis(async (commands) => commands.map((c) => (c.startsWith("settle") ? [null, [1, 1]] : [null, "entries"])));
    const events: string[] = [];
    const batch = new SettleBatch(links(redis, (pipeline) => {
      pipeline.callBuffer("XREADGROUP");
      events.push(`asked while acking ${batch.acking}`);
      return (err, reply) => events.push(`read ${String(err)} ${String(reply)}`);
    }));
    const acks = [batch.settle({ stream: "s", id: "1-0", list: undefined, remove: false, fresh: false }), batch.settle({ stream: "s", id: "1-1", list: undefined, remove: false, fresh: false })];
    for (const a of acks) void a.then((ours) => events.push(`ack ${ours}`));
    await Promise.all(acks);
    expect(pipelines).toHaveLength(1);
    expect(pipelines[0]!.commands).toEqual(["settle 1-0 1-1 | 0", "XREADGROUP"]);
    expect(events).toEqual(["asked while acking 2", "read null entries", "ack true", "ack true"]);
  });

  it("redis - once eagerAt acks wait they go at once, mid-turn, with their read; starts of entries not acked yet wait for the turn's end", async () => {
    const { redis, pipelines } = fakeRedis(async (commands) => commands.map((c) => (c.startsWith("settle") ? [null, [1, 1]] : [null, "entries"])));
    const batch = new SettleBatch(links(redis, (pipeline) => {
      pipeline.callBuffer("XREADGROUP");
      return () => undefined;
    }, 2));
    for (const id of ["3-0", "3-1", "3-2", "3-3"]) batch.start("s", id);
    const acks = [batch.settle({ stream: "s", id: "3-0", list: undefined, remove: false, fresh: false }), batch.settle({ stream: "s", id: "3-1", list: undefined, remove: false, fresh: false })];
    // Sent in the same turn, before any await: the server works on them while the turn goes on.
    expect(pipelines.map((p) => p.commands)).toEqual([["settle 3-0 3-1 | 1", "XREADGROUP"]]);
    acks.push(batch.settle({ stream: "s", id: "3-2", list: undefined, remove: false, fresh: false }));
    await new Promise((r) => setImmediate(r));
    expect(pipelines.map((p) => p.commands)).toEqual([["settle 3-0 3-1 | 1", "XREADGROUP"], ["starts", "settle 3-2 | 1", "XREADGROUP"]]);
    await Promise.all(acks);
  });

  it("redis - a failed pipeline hands the read its error as it rejects the acks; a turn without acks sends no read", async () => {
    const lost = new Error("connection lost");
    const { redis, pipelines } = fakeRedis(async () => Promise.reject(lost));
    const got: unknown[] = [];
    const batch = new SettleBatch(links(redis, (pipeline) => {
      pipeline.callBuffer("XREADGROUP");
      return (err) => got.push(err);
    }));
    batch.start("s", "2-0");
    await new Promise((r) => setImmediate(r));
    expect(pipelines[0]!.commands).toEqual(["starts"]);
    await expect(batch.settle({ stream: "s", id: "2-1", list: undefined, remove: false, fresh: false })).rejects.toBe(lost);
    expect(pipelines[1]!.commands).toEqual(["settle 2-1 | 0", "XREADGROUP"]);
    expect(got).toEqual([lost]);
    expect(batch.acking).toBe(0);
  });
});
