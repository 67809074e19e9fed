/**
 * The CLI on NATS JetStream (the shared nats-server): `doctor` reports the
 * streams as they are on the server, never the URL's options, and exits 3
 * while a confirmed message can be lost; `queues` and `dlq` read a group
 * and its dead letters.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missive, PermanentError } from "../../src/index.js";
import { natsTransport } from "../../src/transports/nats/index.js";
import { natsNames } from "../../src/transports/nats/names.js";
import { removeNatsPrefix } from "../support/nats.js";
import { Order, cli, ensureBuilt } from "./helpers.js";

const SERVER = "127.0.0.1:4222";
const prefix = `cli-nats-${randomUUID().slice(0, 8)}`;
const url = `nats://${SERVER}?prefix=${prefix}`;

beforeAll(() => ensureBuilt());
afterAll(async () => {
  await removeNatsPrefix(SERVER, prefix);
});

interface DoctorJson {
  durability: { confirm: string; settings: Record<string, string>; warnings: string[] };
}

describe("cli on nats", () => {
  it("nats - topology makes a group's streams and consumer, so a service with create off can consume", async () => {
    const r = await cli(["topology", "shipping", Order.type, "--json", "--url", url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const bus = await missive({ service: "cli-nats", transport: natsTransport({ servers: [SERVER], prefix, create: false }) });
    let got = 0;
    await bus.consume(Order, { group: "shipping" }, () => void got++).ready;
    await bus.publish(Order, { orderId: "o1", totalCents: 1 });
    const deadline = Date.now() + 10_000;
    while (got === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await bus.close();
    expect(got).toBe(1);
  });

  it("nats - doctor, queues and dlq read the server: one-replica streams warn (exit 3) even when the URL asks for 3 replicas", async () => {
    const bus = await missive({ service: "cli-nats", transport: natsTransport(url) });
    await bus.consume(Order, { group: "billing" }, (o) => {
      if (o.orderId === "bad") throw new PermanentError("refused");
    }).ready;
    await bus.publish(Order, { orderId: "bad", totalCents: 1 });
    const names = natsNames(prefix);
    let dlq = { code: null as number | null, stdout: "" };
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      dlq = await cli(["dlq", "ls", "--json", "--url", url]);
      if (dlq.stdout.includes("\"bad\"")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(dlq.code).toBe(0);
    expect(dlq.stdout).toContain("MISSIVE_PERMANENT");
    await bus.close();

    const doctor = await cli(["doctor", "--json", "--url", `${url}&replicas=3`]);
    expect(doctor.stderr).toBe("");
    expect(doctor.code).toBe(3);
    const report = JSON.parse(doctor.stdout) as DoctorJson;
    expect(report.durability.settings["server version"]).toMatch(/^2\./);
    expect(report.durability.settings[`stream ${names.topicStream(Order.type)}`]).toBe("storage file, replicas 1");
    expect(report.durability.warnings.join("\n")).toMatch(/fewer than 3 replicas.*power loss/);

    const queues = await cli(["queues", "--json", "--url", url]);
    expect(queues.code).toBe(0);
    const groups = (JSON.parse(queues.stdout) as { groups: Array<Record<string, unknown>> }).groups;
    expect(groups.find((g) => g["group"] === "billing")).toMatchObject({ topics: [Order.type], depth: 0, deadLetters: 1 });
  });
});
