/**
 * Issue 15 item 6 and issue 14's line in `missive queues`, on RabbitMQ: an
 * unknown group or type is an error naming the queues that exist; `tail`
 * exits cleanly on SIGTERM and SIGHUP with its queue gone; `queues` shows
 * the consumer count the broker reports and flags a group with ready
 * messages and no consumer.
 */
import amqp from "amqplib";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { missive, type Bus } from "../../src/index.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { shouldSkip } from "../faults/harness/skip.js";
import { createVhost, rabbitmqMissing, type TestVhost } from "../support/rabbitmq.js";
import { waitFor } from "../support/wait.js";
import { cli, ensureBuilt, expectCleanError, Order, start } from "./helpers.js";

let skip = false;
let vhost: TestVhost | undefined;
let bus: Bus | undefined;
beforeAll(async () => {
  ensureBuilt();
  skip = shouldSkip(await rabbitmqMissing(), "cli truths on rabbitmq");
});
beforeEach(async () => {
  if (skip) return;
  vhost = await createVhost("cli-truths");
  bus = await missive({ service: "cli-truths", transport: rabbitmqTransport({ url: vhost.url }) });
  await bus.declare(Order, "billing");
});
afterEach(async () => {
  await bus?.close();
  bus = undefined;
  await vhost?.remove();
  vhost = undefined;
});

/** Whether the queue exists, by a passive declare on a channel of its own: 404 no; 405 (exclusive to tail's connection) yes. */
async function queueExists(url: string, name: string): Promise<boolean> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    channel.on("error", () => undefined);
    try {
      await channel.checkQueue(name);
      return true;
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 404) return false;
      if (code === 405) return true;
      throw err;
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

interface Row { group: string; ready: number; consumers: number | null; consumerState: string; consumerStateWhy: string | null }
async function groups(url: string): Promise<Map<string, Row>> {
  const r = await cli(["queues", "--json", "--url", url]);
  expect(r.code, r.stderr).toBe(0);
  return new Map((JSON.parse(r.stdout) as { groups: Row[] }).groups.map((g) => [g.group, g]));
}

describe("cli truths on rabbitmq", () => {
  it("cli - dlq ls --group/--type and tail of something that does not exist: exit 4 naming the queues that exist", async ({ skip: skipTest }) => {
    if (skip) return skipTest();
    const url = vhost!.url;
    const ls = await cli(["dlq", "ls", "--group", "biling", "--url", url]);
    expect(ls.code).toBe(4);
    expectCleanError(ls.stderr);
    expect(ls.stderr).toBe('missive: no group "biling" (known groups: billing) [MISSIVE_NOT_FOUND]\n');
    const typed = await cli(["dlq", "summary", "--type", "nope.type", "--url", url]);
    expect(typed.code).toBe(4);
    expect(typed.stderr).toContain(`no message type "nope.type" (known message types: ${Order.type})`);
    const tail = await cli(["tail", "biling", "--url", url]);
    expect(tail.code).toBe(4);
    expect(tail.stderr).toBe(`missive: no group or message type "biling" (known groups: billing; known message types: ${Order.type}) [MISSIVE_NOT_FOUND]\n`);
    const known = await cli(["dlq", "ls", "--group", "billing", "--url", url]);
    expect(known.code).toBe(0);
    expect(known.stdout.trim()).toBe("no dead letters match");
  });

  for (const signal of ["SIGTERM", "SIGHUP"] as const) {
    it(`cli - tail on ${signal}: exit 0 and its temporary queue gone`, async ({ skip: skipTest }) => {
      if (skip) return skipTest();
      const url = vhost!.url;
      const run = start(["tail", Order.type, "--url", url]);
      await waitFor(() => run.stderr().includes("following"), 20_000, "tail to start");
      const group = /temporary group (missive\.tail\.[0-9a-f]+)/.exec(run.stderr())![1]!;
      expect(await queueExists(url, group)).toBe(true);
      run.child.kill(signal);
      const r = await run.finished;
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
      expect(await queueExists(url, group)).toBe(false);
    });
  }

  it("cli - queues: the broker's consumer count; running, STALLED with ready messages and no consumer, none", async ({ skip: skipTest }) => {
    if (skip) return skipTest();
    const url = vhost!.url;
    await bus!.declare(Order, "idle");
    const got: string[] = [];
    const consumer = bus!.consume(Order, { group: "live" }, (o) => void got.push(o.orderId));
    await consumer.ready;
    await bus!.publish(Order, { orderId: "r-1", totalCents: 1 });
    await waitFor(() => got.length === 1, 15_000, "the live consumer");
    const drain = bus!.consume(Order, { group: "idle" }, () => undefined);
    await drain.ready;
    await waitFor(async () => (await groups(url)).get("idle")?.ready === 0, 15_000, "idle drained");
    await drain.close();

    const rows = await groups(url);
    expect(rows.get("live")).toMatchObject({ consumers: 1, consumerState: "running" });
    expect(rows.get("idle")).toMatchObject({ consumers: 0, consumerState: "none" });
    expect(rows.get("billing")).toMatchObject({ ready: 1, consumers: 0, consumerState: "stalled", consumerStateWhy: "1 ready message and no consumer running" });
    const table = await cli(["queues", "--url", url]);
    expect(table.stdout.split("\n").find((l) => l.startsWith("billing "))).toMatch(/\s0\s+STALLED: 1 ready message and no consumer running$/);

    await consumer.close();
    await bus!.publish(Order, { orderId: "r-2", totalCents: 2 });
    await waitFor(async () => (await groups(url)).get("live")?.consumerState === "stalled", 15_000, "the closed consumer counted out");
  });
});
