/**
 * Fault: consumer processes SIGKILLed mid-stream (mid-handler, mid-commit) on
 * the SQLite default. Counted after a final drain: nothing confirmed is lost,
 * and with the inbox no effect happens twice.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { exited, forkFixture, killFixtures } from "../support/fixture-process.js";
import { waitFor } from "../support/wait.js";

let dir: string | undefined;

afterEach(() => {
  killFixtures();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function startConsumer(path: string, group: string): { child: ChildProcess; handled: () => number; ready: Promise<void> } {
  const child = forkFixture("inbox-consumer", [path, group]);
  let handled = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.on("message", (m: { ready?: boolean; handled?: number }) => {
      if (m.ready) resolve();
      if (m.handled !== undefined) handled = m.handled;
    });
    child.on("exit", (code, signal) => reject(new Error(`consumer exited early (${code ?? signal})`)));
  });
  return { child, handled: () => handled, ready };
}

describe("faults - sqlite", () => {
  it("faults - consumers SIGKILLed twice mid-stream: lost 0, double effects 0", async () => {
    dir = mkdtempSync(join(tmpdir(), "missive-fault-"));
    const path = join(dir, "fault.db");
    const producer = await missive({ service: "fault-producer", transport: sqliteTransport({ path }) });
    await producer.declare(OrderPlaced, "billing");
    const n = 1500;
    const confirmed = new Set<string>();
    await Promise.all(Array.from({ length: n }, async (_, i) => {
      const r = await producer.publish(OrderPlaced, { orderId: `k${i % 50}`, seq: i, totalCents: 1 });
      confirmed.add(r.id);
    }));
    await producer.close();
    expect(confirmed.size).toBe(n);

    let kills = 0;
    for (const killAfter of [200, 300]) {
      const victim = startConsumer(path, "billing");
      await victim.ready;
      await waitFor(() => victim.handled() >= killAfter, 30_000, `the consumer to handle ${killAfter}`);
      victim.child.kill("SIGKILL");
      await exited(victim.child);
      kills++;
    }
    const survivor = startConsumer(path, "billing");
    await survivor.ready;
    const db = new Database(path, { readonly: true });
    try {
      const count = (): { rows: number; distinct: number; queued: number } => ({
        rows: (db.prepare("SELECT count(*) AS n FROM effects").get() as { n: number }).n,
        distinct: (db.prepare("SELECT count(DISTINCT message_id) AS n FROM effects").get() as { n: number }).n,
        queued: (db.prepare("SELECT count(*) AS n FROM missive_queue WHERE group_name = 'billing'").get() as { n: number }).n,
      });
      await waitFor(() => count().distinct === n && count().queued === 0, 60_000, "every message's effect after the kills");
      const final = count();
      const ids = new Set((db.prepare("SELECT message_id FROM effects").all() as Array<{ message_id: string }>).map((r) => r.message_id));
      const lost = [...confirmed].filter((id) => !ids.has(id)).length;
      const doubleEffects = final.rows - final.distinct;
      console.log(`faults sqlite sigkill: kills=${kills} confirmed=${n} lost=${lost} double_effects=${doubleEffects}`);
      expect(kills).toBe(2);
      expect(lost).toBe(0);
      expect(doubleEffects).toBe(0);
      const dead = (db.prepare("SELECT count(*) AS n FROM missive_dead_letters").get() as { n: number }).n;
      expect(dead).toBe(0);
    } finally {
      db.close();
    }
  }, 120_000);
});
