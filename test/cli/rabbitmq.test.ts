/** The real `missive` binary on RabbitMQ: topology for least-privilege services, doctor, queues and the dead-letter store. */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PermanentError, missive } from "../../src/index.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { shouldSkip } from "../faults/harness/skip.js";
import { createVhost, rabbitmqMissing, type TestVhost } from "../support/rabbitmq.js";
import { waitFor } from "../support/wait.js";
import { Order, cli, ensureBuilt } from "./helpers.js";
import { deadLettersOf } from "../support/abilities.js";

let skip = false;
let vhost: TestVhost | undefined;
beforeAll(async () => {
  ensureBuilt();
  skip = shouldSkip(await rabbitmqMissing(), "cli on rabbitmq");
});
beforeEach(async () => {
  if (!skip) vhost = await createVhost("cli");
});
afterEach(async () => {
  await vhost?.remove();
  vhost = undefined;
});

describe("cli on rabbitmq", () => {
  it("cli - topology declares a group for a declare: false service; doctor says what a confirm means; the password never shows", async ({ skip: skipTest }) => {
    if (skip) return skipTest();
    const url = vhost!.url;
    const declared = await cli(["topology", "billing", Order.type, "--url", url]);
    expect(declared.stderr).toBe("");
    expect(declared.code).toBe(0);
    expect(declared.stdout).toContain("declared group billing");
    const service = rabbitmqTransport({ url, declare: false });
    const bus = await missive({ service: "least-privilege", transport: service });
    const got: string[] = [];
    await bus.consume(Order, { group: "billing" }, (d) => void got.push(d.orderId)).ready;
    await bus.publish(Order, { orderId: "o-1", totalCents: 5 }, { delay: "300ms" });
    await waitFor(() => got.length === 1, 10_000, "the delayed message");
    await bus.close();

    const doctor = await cli(["doctor", "--url", url]);
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toContain("quorum");
    expect(doctor.stdout).not.toContain("guest:guest");
    const bad = await cli(["queues", "--url", url.replace("guest:guest", "guest:hunter2")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("MISSIVE_AUTH");
    expect(bad.stderr + bad.stdout).not.toContain("hunter2");
  });

  it("cli - queues lists the group; dlq ls and replay work on the group's dead-letter queue", async ({ skip: skipTest }) => {
    if (skip) return skipTest();
    const url = vhost!.url;
    const bus = await missive({ service: "cli", transport: rabbitmqTransport({ url }) });
    let broken = true;
    const handled: string[] = [];
    await bus.consume(Order, { group: "payments" }, (d) => {
      if (broken) throw new PermanentError("declined");
      handled.push(d.orderId);
    }).ready;
    await bus.publish(Order, { orderId: "o-9", totalCents: 1 });
    await waitFor(async () => (await deadLettersOf(bus.transport).count({ group: "payments" })) === 1, 10_000, "the dead letter");
    const queues = await cli(["queues", "--json", "--url", url]);
    expect(queues.code).toBe(0);
    const { groups } = JSON.parse(queues.stdout) as { groups: Array<{ group: string; topics: string[]; deadLetters: number }> };
    expect(groups.find((r) => r.group === "payments")).toMatchObject({ group: "payments", topics: [Order.type], deadLetters: 1 });
    const ls = await cli(["dlq", "ls", "--group", "payments", "--json", "--url", url]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain("declined");
    broken = false;
    const replay = await cli(["dlq", "replay", "--group", "payments", "--yes", "--url", url]);
    expect(replay.code).toBe(0);
    await waitFor(() => handled.length === 1, 10_000, "the replayed message");
    await bus.close();
  });
});
