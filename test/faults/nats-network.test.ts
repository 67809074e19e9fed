/**
 * Network faults between missive and the shared nats-server, through a TCP
 * proxy of the test's own (the server is never touched; names under a prefix
 * of the test's own): connection resets while a keyed stream is published,
 * then resets and a 3 s blackhole (ping every 500 ms) while an ordered
 * consumer with the inbox works through it (network-fault-support.ts).
 * Pulls lost with a connection are made again; acks lost with it come back
 * as redeliveries the inbox removes. Counted: lost confirmed 0, double
 * effects 0, order violations 0. A message on the wire when the connection
 * goes comes back only after its ack wait, and JetStream would meanwhile
 * deliver later messages of its key: after a reconnect a partition whose
 * consumers have more pending than the subscription holds is fenced for the
 * ack wait (ADR 012), so the lost ones come back first.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "vitest";
import { missive } from "../../src/index.js";
import { natsTransport } from "../../src/transports/nats/index.js";
import { removeNatsPrefix } from "../support/nats.js";
import { expectCleanNetworkRun, networkFaults } from "./network-fault-support.js";

const COUNT = 2000;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe("faults - nats network", () => {
  it("faults - nats: resets while publishing, resets and a 3 s blackhole while consuming ordered: lost 0, double effects 0, key order kept across the lost connections", async () => {
    const started = Date.now();
    const prefix = `net-nats-${randomUUID().slice(0, 8)}`;
    const dir = mkdtempSync(join(tmpdir(), "missive-nats-net-"));
    cleanups.push(async () => {
      await removeNatsPrefix("127.0.0.1:4222", prefix);
      rmSync(dir, { recursive: true, force: true });
    });
    const run = await networkFaults(4222, dir, COUNT, async (port, inbox) => {
      const transport = natsTransport({ servers: [`127.0.0.1:${port}`], prefix, pingIntervalMs: 500, publishTimeoutMs: 2_000 });
      const bus = await missive({ service: "nats-network", transport, ...(inbox ? { inbox } : {}), publisher: { timeout: "60s" } });
      cleanups.push(async () => {
        await bus.close({ deadline: "2s" }).catch(() => transport.kill());
      });
      return bus;
    }, (fn) => cleanups.push(fn));
    console.log(`[fault] nats network: ${run.line} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expectCleanNetworkRun(run, COUNT);
  }, 180_000);
});
