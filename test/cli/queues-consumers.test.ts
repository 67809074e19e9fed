/**
 * Issue 14 ("a line in `missive queues`"): per group, whether a consumer is
 * running, from the consumers the file records (a heartbeat per
 * subscription, removed when it closes or stops on an error), and a group
 * with ready messages and nobody consuming them flagged STALLED.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bus } from "../../src/index.js";
import { waitFor } from "../support/wait.js";
import { cli, ensureBuilt, openBus, Order, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let path: string;
let bus: Bus;

interface Row { group: string; ready: number; consumers: number | null; consumerState: string; consumerStateWhy: string | null }

async function groups(): Promise<Map<string, Row>> {
  const r = await cli(["queues", "--json", "--url", urlOf(path)]);
  expect(r.code, r.stderr).toBe(0);
  return new Map((JSON.parse(r.stdout) as { groups: Row[] }).groups.map((g) => [g.group, g]));
}

beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-queues-consumers");
  path = join(tmp.dir, "c.db");
  bus = await openBus(path);
  await bus.declare(Order, "idle");
  await bus.declare(Order, "stalled");
});
afterAll(async () => {
  await bus.close();
  tmp.cleanup();
});

describe("cli - queues consumer state", () => {
  it("cli - queues: running with a live consumer; none when idle; STALLED when messages are ready and nobody consumes; a closed consumer counts out", async () => {
    const handled: string[] = [];
    const consumer = bus.consume(Order, { group: "live" }, (o) => void handled.push(o.orderId));
    await consumer.ready;
    await bus.publish(Order, { orderId: "c-1", totalCents: 1 });
    await waitFor(() => handled.length === 1, 15_000, "the live consumer to handle c-1");
    // "idle" and "stalled" get c-1 too (bound to the same type): drain "idle" by hand so it has nothing ready.
    const drain = bus.consume(Order, { group: "idle" }, () => undefined);
    await drain.ready;
    await waitFor(async () => (await groups()).get("idle")?.ready === 0, 15_000, "idle drained");
    await drain.close();

    const before = await groups();
    expect(before.get("live")).toMatchObject({ consumers: 1, consumerState: "running", consumerStateWhy: null });
    expect(before.get("idle")).toMatchObject({ ready: 0, consumers: 0, consumerState: "none" });
    expect(before.get("stalled")).toMatchObject({ ready: 1, consumers: 0, consumerState: "stalled", consumerStateWhy: "1 ready message and no consumer running" });

    const table = await cli(["queues", "--url", urlOf(path)]);
    const line = (g: string): string[] => table.stdout.split("\n").find((l) => l.startsWith(`${g} `))!.split(/\s{2,}/);
    expect(line("live").slice(-2)).toEqual(["1", "running"]);
    expect(line("idle").slice(-2)).toEqual(["0", "none"]);
    expect(line("stalled").slice(-2)).toEqual(["0", "STALLED: 1 ready message and no consumer running"]);

    await consumer.close();
    await bus.publish(Order, { orderId: "c-2", totalCents: 2 });
    await waitFor(async () => (await groups()).get("live")?.consumerState === "stalled", 15_000, "the closed consumer counted out");
    expect((await groups()).get("live")).toMatchObject({ consumers: 0, ready: 1 });
  });
});
