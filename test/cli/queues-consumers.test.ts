/**
 * Issue 14 ("a line in `missive queues`"): per group, whether a consumer is
 * running, from the consumers the file records (a heartbeat per
 * subscription, removed when it closes or stops on an error), and a group
 * with ready messages and nobody consuming them flagged STALLED. A consumer
 * whose process died is counted out at once when its pid is gone on this
 * host, not after the heartbeat window.
 */
import { spawn } from "node:child_process";
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

describe("cli - queues consumer state when a consumer's process dies", () => {
  it("cli - queues: a consumer SIGKILLed a moment ago is counted out at once (its pid is gone), and the group is STALLED", async () => {
    // A consumer in a process of its own, as a service would run it.
    const script = `
      const { missive, defineMessage } = await import(${JSON.stringify(join(process.cwd(), "dist", "index.js"))});
      const { sqliteTransport } = await import(${JSON.stringify(join(process.cwd(), "dist", "transports", "sqlite", "index.js"))});
      const Order = defineMessage({ type: ${JSON.stringify(Order.type)}, schema: { "~standard": { version: 1, vendor: "t", validate: (value) => ({ value }) } } });
      const bus = await missive({ service: "doomed", transport: sqliteTransport({ path: ${JSON.stringify(path)} }) });
      await bus.consume(Order, { group: "doomed", concurrency: 1 }, () => new Promise(() => undefined)).ready;
      process.stdout.write("ready\\n");
      setInterval(() => undefined, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes("ready"), 20_000, "the consumer process");
      expect((await groups()).get("doomed")).toMatchObject({ consumers: 1, consumerState: "running" });
    } finally {
      child.kill("SIGKILL");
    }
    await new Promise((resolve) => child.once("exit", resolve));
    await bus.publish(Order, { orderId: "after-death", totalCents: 1 });
    // At once, not after the heartbeat window (15 s): the row is fresh but its pid is gone.
    const row = (await groups()).get("doomed")!;
    expect(row).toMatchObject({ consumers: 0, consumerState: "stalled" });
    expect(row.consumerStateWhy).toBe(`${row.ready} ready message${row.ready === 1 ? "" : "s"} and no consumer running (its consumer pid ${child.pid} is gone)`);
  });
});
