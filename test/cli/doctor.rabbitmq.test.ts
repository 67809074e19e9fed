/** `missive doctor` on RabbitMQ: queue types as declared on the broker, not as this process is configured. */
import amqp from "amqplib";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { shouldSkip } from "../faults/harness/skip.js";
import { createVhost, rabbitmqMissing, type TestVhost } from "../support/rabbitmq.js";
import { Order, cli, ensureBuilt } from "./helpers.js";

let skip = false;
let vhost: TestVhost | undefined;
beforeAll(async () => {
  ensureBuilt();
  skip = shouldSkip(await rabbitmqMissing(), "doctor on rabbitmq");
});
beforeEach(async () => {
  if (!skip) vhost = await createVhost("doctor");
});
afterEach(async () => {
  await vhost?.remove();
  vhost = undefined;
});

interface DoctorJson {
  durability: { confirm: string; settings: Record<string, string>; warnings: string[] };
}

describe("doctor on rabbitmq", () => {
  it("doctor - regression: a queue declared classic by a plain client was reported as the configured quorum (exit 0); now classic as on the broker, the one-node warning, exit 3", async ({ skip: skipTest }) => {
    if (skip) return skipTest();
    const url = vhost!.url;
    // missive's own streams (and a quorum group) come from `missive topology`.
    expect((await cli(["topology", "shipping", Order.type, "--url", url])).code).toBe(0);
    // An operator's script declares the group's queues classic, with a plain client.
    const plain = await amqp.connect(url);
    const ch = await plain.createChannel();
    await ch.assertExchange(Order.type, "fanout", { durable: true });
    await ch.assertQueue("billing", { durable: true });
    await ch.assertQueue("billing.dlq", { durable: true, arguments: { "x-queue-type": "classic" } });
    await ch.bindQueue("billing", Order.type, "");
    await plain.close();
    // A service that may not declare (configured quorum, the default) consumes it: it records the group in the catalog.
    const bus = await missive({ service: "least-privilege", transport: rabbitmqTransport({ url, declare: false }) });
    await bus.consume(Order, { group: "billing" }, () => undefined).ready;
    await bus.close();

    const r = await cli(["doctor", "--json", "--url", url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as DoctorJson;
    expect(report.durability.settings["queue billing"]).toBe("classic (declared without x-queue-type: the broker's default)");
    expect(report.durability.settings["queue billing.dlq"]).toBe("classic");
    // doctor's own options are not reported: no missive process runs now, so what processes chose is unknown.
    expect(Object.keys(report.durability.settings).filter((k) => k.includes("queueType"))).toEqual([]);
    expect(report.durability.settings["processes"]).toMatch(/^unknown: no missive process has published or consumed/);
    expect(report.durability.settings["queue shipping"]).toBe("quorum");
    expect(report.durability.confirm).toContain("depends on the queue");
    expect(report.durability.warnings).toHaveLength(2);
    expect(report.durability.warnings[0]).toMatch(/^queue billing is classic .*one node.*losing that disk loses its confirmed messages/);

    const text = await cli(["doctor", "--url", url]);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain("queue billing: classic");
    expect(text.stdout).toContain("WARNING: queue billing is classic");
  });

  it("doctor - quorum queues as declared, with the arguments the broker names; a classic priority group's x-max-priority is read past; no group at all is unknown", async ({ skip: skipTest }) => {
    if (skip) return skipTest();
    const url = vhost!.url;
    const empty = await cli(["doctor", "--json", "--url", url]);
    expect(empty.code).toBe(0);
    expect((JSON.parse(empty.stdout) as DoctorJson).durability.settings["queue types"]).toMatch(/^unknown: no consumer group is recorded/);

    const quorum = rabbitmqTransport({ url });
    await quorum.bind("payments", [Order.type]);
    await quorum.close();
    const ok = await cli(["doctor", "--json", "--url", `${url}`]);
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.stdout) as DoctorJson;
    expect(report.durability.settings["queue payments"]).toBe("quorum");
    expect(report.durability.warnings).toEqual([]);
    expect(report.durability.confirm).toContain("majority");

    const priorities = rabbitmqTransport({ url, queueType: "classic", priorities: true });
    await priorities.bind("urgent", [Order.type]);
    await priorities.close();
    const mixed = JSON.parse((await cli(["doctor", "--json", "--url", url])).stdout) as DoctorJson;
    expect(mixed.durability.settings["queue urgent"]).toBe("classic, x-max-priority=9");
    expect(mixed.durability.confirm).toContain("depends on the queue");
  });

  it("doctor - regression: each live process's own settings, read from its connection (heartbeat off, classic queues: warnings, exit 3); doctor's own options are never reported; a closed process is no longer listed", async ({ skip: skipTest }) => {
    if (skip) return skipTest();
    const url = vhost!.url;
    const risky = rabbitmqTransport({ url, heartbeatSeconds: 0, queueType: "classic" });
    const careful = rabbitmqTransport({ url });
    const busA = await missive({ service: "risky", transport: risky });
    const busB = await missive({ service: "careful", transport: careful });
    try {
      // One process consumes, the other publishes: both record themselves.
      await busA.consume(Order, { group: "risky-group" }, () => undefined).ready;
      await busB.publish(Order, { orderId: "o-2", totalCents: 2 });
      // Doctor connects with heartbeats off too: its own choice must not be what it reports.
      const r = await cli(["doctor", "--json", "--url", `${url}?heartbeat=0`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(3);
      const report = JSON.parse(r.stdout) as DoctorJson;
      expect(report.durability.settings["processes"]).toBe("2 live");
      const processes = Object.entries(report.durability.settings).filter(([k]) => k.startsWith(`process ${process.pid}@`)).map(([, v]) => v);
      expect(processes).toHaveLength(2);
      expect(processes.filter((p) => p.includes("heartbeat off (negotiated)") && p.includes("declares classic queues"))).toHaveLength(1);
      expect(processes.filter((p) => p.includes("heartbeat 10 s (negotiated)") && p.includes("declares quorum queues"))).toHaveLength(1);
      expect(report.durability.warnings.filter((w) => w.includes("heartbeats off"))).toHaveLength(1);
      expect(report.durability.warnings.filter((w) => w.includes("declares classic queues"))).toHaveLength(1);
    } finally {
      await busA.close();
    }
    const after = JSON.parse((await cli(["doctor", "--json", "--url", url])).stdout) as DoctorJson;
    expect(after.durability.settings["processes"]).toBe("1 live");
    expect(after.durability.warnings.filter((w) => w.includes("heartbeats off") || w.includes("declares classic"))).toEqual([]);
    await busB.close();
  });
});
