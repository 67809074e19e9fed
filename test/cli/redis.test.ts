/**
 * The CLI on Redis Streams: `doctor` reads the server's persistence
 * (CONFIG GET) and says what an XADD reply is worth: exit 3 on the shared
 * server (no AOF: a confirmed message is lost on any restart), exit 0 on a
 * server of the test's own with `appendonly yes` + `appendfsync always`;
 * `topology`, `queues` and `dlq` read and make a group's streams; `tail`
 * follows a topic through a temporary group, made even with create off.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missive, PermanentError } from "../../src/index.js";
import { redisTransport } from "../../src/transports/redis/index.js";
import { startBroker, type BrokerProcess } from "../support/broker-process.js";
import { REDIS_URL, removeRedisPrefix } from "../support/redis.js";
import { waitFor } from "../support/wait.js";
import { Order, cli, ensureBuilt, start } from "./helpers.js";

const prefix = `cli-redis-${randomUUID().slice(0, 8)}:`;
const url = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`;
let durable: BrokerProcess | undefined;

beforeAll(async () => {
  ensureBuilt();
  durable = await startBroker("redis", { appendOnly: true });
});
afterAll(async () => {
  await removeRedisPrefix(REDIS_URL, prefix);
  await durable?.stop();
});

interface DoctorJson {
  durability: { confirm: string; settings: Record<string, string>; warnings: string[] };
}

describe("cli on redis", () => {
  it("redis - topology makes a group's streams and consumer groups, so a service with create off can consume", async () => {
    const r = await cli(["topology", "shipping", Order.type, "--json", "--url", url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const bus = await missive({ service: "cli-redis", transport: redisTransport({ url: REDIS_URL, prefix, create: false }) });
    let got = 0;
    await bus.consume(Order, { group: "shipping" }, () => void got++).ready;
    await bus.publish(Order, { orderId: "o1", totalCents: 1 });
    await waitFor(() => got === 1, 10_000, "the order handled");
    await bus.close();
    expect(got).toBe(1);
  });

  it("redis - doctor reads appendonly from the server: exit 3 without AOF (lost on any restart), 0 with appendfsync always; queues and dlq read the group", async () => {
    const bus = await missive({ service: "cli-redis", transport: redisTransport({ url: REDIS_URL, prefix }) });
    await bus.consume(Order, { group: "billing" }, (o) => {
      if (o.orderId === "bad") throw new PermanentError("refused");
    }).ready;
    await bus.publish(Order, { orderId: "bad", totalCents: 1 });
    let dlq = { code: null as number | null, stdout: "" };
    await waitFor(async () => {
      dlq = await cli(["dlq", "ls", "--json", "--url", url]);
      return dlq.stdout.includes("\"bad\"");
    }, 15_000, "the dead letter listed");
    expect(dlq.code).toBe(0);
    expect(dlq.stdout).toContain("MISSIVE_PERMANENT");
    await bus.close();

    const shared = await cli(["doctor", "--json", "--url", url]);
    expect(shared.stderr).toBe("");
    expect(shared.code).toBe(3);
    const report = JSON.parse(shared.stdout) as DoctorJson;
    expect(report.durability.settings["appendonly"]).toBe("no");
    expect(report.durability.settings["WAITAOF"]).toMatch(/7\.2/);
    expect(report.durability.warnings.join("\n")).toMatch(/lost on any server restart/);

    const own = await cli(["doctor", "--json", "--url", durable!.url]);
    expect(own.code).toBe(0);
    const durableReport = JSON.parse(own.stdout) as DoctorJson;
    expect(durableReport.durability.settings).toMatchObject({ appendonly: "yes", appendfsync: "always" });
    expect(durableReport.durability.warnings).toEqual([]);

    const queues = await cli(["queues", "--json", "--url", url]);
    expect(queues.code).toBe(0);
    const groups = (JSON.parse(queues.stdout) as { groups: Array<Record<string, unknown>> }).groups;
    expect(groups.find((g) => g["group"] === "billing")).toMatchObject({ topics: [Order.type], depth: 0, deadLetters: 1 });
  });

  it("redis - tail <type> --json --count 1: the next message, through a temporary group made with create off and removed after", async () => {
    const bus = await missive({ service: "cli-redis", transport: redisTransport({ url: REDIS_URL, prefix }) });
    await bus.declare(Order, "ledger");
    const run = start(["tail", Order.type, "--json", "--count", "1", "--url", url]);
    await waitFor(() => run.stderr().includes("following"), 15_000, "tail to start");
    const sent = await bus.publish(Order, { orderId: "t-1", totalCents: 1 });
    const r = await run.finished;
    await bus.close();
    expect(r.stderr).not.toContain("MISSIVE_");
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout.trim()) as Record<string, unknown>)["id"]).toBe(sent.id);
    const queues = (JSON.parse((await cli(["queues", "--json", "--url", url])).stdout) as { groups: Array<Record<string, unknown>> }).groups;
    expect(queues.map((g) => g["group"]).filter((g) => String(g).startsWith("missive.tail."))).toEqual([]);
    // ledger still has it: tail took a copy, not its message.
    expect(queues.find((g) => g["group"] === "ledger")).toMatchObject({ ready: 1 });
  });
});
