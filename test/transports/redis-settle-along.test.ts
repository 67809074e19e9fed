/**
 * The command a subscription sends along with a turn's acks (the read that
 * refills their places, subscription.ts readAlong) goes in the acks' own
 * write (their socket corked around them, send-together.ts); its reply is
 * handed over before any ack resolves (so the refill is buffered by the time
 * the consumer asks again), and a failed connection hands it the error as it
 * rejects the acks.
 */
import { describe, expect, it } from "vitest";
import { SettleBatch, type SettleCommands } from "../../src/transports/redis/settle-batch.js";

/**
 * A connection that records its commands, grouped by the writes they went out in (the calls made while its
 * socket was corked), and answers each with `answer` (verdict 1 for every settled entry).
 */
function fakeRedis(answer: (command: string) => Promise<unknown>): { redis: SettleCommands; writes: string[][]; read: () => Promise<unknown> } {
  const writes: string[][] = [];
  let corked: string[] | undefined;
  const send = (command: string): Promise<unknown> => {
    if (corked) corked.push(command);
    else writes.push([command]);
    return answer(command);
  };
  const redis = {
    status: "ready",
    stream: { cork: () => writes.push((corked = [])), uncork: () => (corked = undefined) },
    missiveStarts: () => send("starts"),
    // The entries, and the code they all have when they have one (after group "g", consumer, delete, lowest and highest).
    missiveSettleMany: (...args: Array<string | number>) => send(`settle ${args.slice(args.indexOf("g") + 5).join(" | ")}`),
  } as unknown as SettleCommands;
  // The subscription's read, sent on the same connection.
  return { redis, writes, read: () => send("READ") };
}

const links = (redis: SettleCommands, along: ConstructorParameters<typeof SettleBatch>[0]["along"], eagerAt?: number) => ({
  redis, group: "g", consumer: "c", starts: "n", startsLost: () => undefined, along, eagerAt,
});

const answerAll = async (command: string): Promise<unknown> => (command.startsWith("settle") ? [1, 1] : "entries");

describe("redis - a read sent along with a turn's acks", () => {
  it("redis - goes in the acks' write, and its reply is handed over before any ack resolves", async () => {
    const { redis, writes, read } = fakeRedis(answerAll);
    const events: string[] = [];
    const batch = new SettleBatch(links(redis, () => {
      events.push(`asked while acking ${batch.acking}`);
      return { sent: read(), replied: (err, reply) => events.push(`read ${String(err)} ${String(reply)}`) };
    }));
    const acks = [batch.settle({ stream: "s", id: "1-0", list: undefined, remove: false, fresh: false }), batch.settle({ stream: "s", id: "1-1", list: undefined, remove: false, fresh: false })];
    for (const a of acks) void a.then((ours) => events.push(`ack ${ours}`));
    await Promise.all(acks);
    expect(writes).toEqual([["settle 1-0 1-1 | 0", "READ"]]);
    expect(events).toEqual(["asked while acking 2", "read null entries", "ack true", "ack true"]);
  });

  it("redis - once eagerAt acks wait they go at once, mid-turn, with their read; starts of entries not acked yet wait for the turn's end", async () => {
    const { redis, writes, read } = fakeRedis(answerAll);
    const batch = new SettleBatch(links(redis, () => ({ sent: read(), replied: () => undefined }), 2));
    for (const id of ["3-0", "3-1", "3-2", "3-3"]) batch.start("s", id);
    const acks = [batch.settle({ stream: "s", id: "3-0", list: undefined, remove: false, fresh: false }), batch.settle({ stream: "s", id: "3-1", list: undefined, remove: false, fresh: false })];
    // Sent in the same turn, before any await: the server works on them while the turn goes on.
    expect(writes).toEqual([["settle 3-0 3-1 | 1", "READ"]]);
    acks.push(batch.settle({ stream: "s", id: "3-2", list: undefined, remove: false, fresh: false }));
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([["settle 3-0 3-1 | 1", "READ"], ["starts", "settle 3-2 | 1", "READ"]]);
    await Promise.all(acks);
  });

  it("redis - a lost connection hands the read its error as it rejects the acks; a turn without acks sends no read", async () => {
    const lost = new Error("connection lost");
    const { redis, writes, read } = fakeRedis(async () => Promise.reject(lost));
    const got: unknown[] = [];
    const batch = new SettleBatch(links(redis, () => ({ sent: read(), replied: (err) => got.push(err) })));
    batch.start("s", "2-0");
    await new Promise((r) => setImmediate(r));
    expect(writes[0]).toEqual(["starts"]);
    await expect(batch.settle({ stream: "s", id: "2-1", list: undefined, remove: false, fresh: false })).rejects.toBe(lost);
    expect(writes[1]).toEqual(["settle 2-1 | 0", "READ"]);
    expect(got).toEqual([lost]);
    expect(batch.acking).toBe(0);
  });
});
