/**
 * Fault: consumer processes on the PostgreSQL transport SIGKILLed between a
 * handler's write and its commit, many times, and at random moments (some
 * land on a commit). The effect row, the inbox row and the ack are one
 * transaction, so a kill leaves all or none of them. Counted after a final
 * drain: nothing confirmed is lost, no effect happens twice.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { missive, uuidv7 } from "../../src/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import type { PgFaultConsumerArgs, PgFaultConsumerMessage } from "../fixtures/postgres-fault-consumer.js";
import { readJournal } from "../fixtures/journal.js";
import { createChecker, type Checker } from "../support/checker.js";
import { exited, forkFixture, killFixtures, killOnMessage, nextMessage } from "../support/fixture-process.js";
import { dropPrefix, PG_URL, pgPrefix, pgQuery } from "../support/postgres.js";
import { waitFor } from "../support/wait.js";

const GROUP = "billing";
const STALL_KILLS = 8;
const RANDOM_KILLS = 6;
let prefix: string | undefined;
let dir: string | undefined;

afterEach(async () => {
  killFixtures();
  if (prefix !== undefined) await dropPrefix(prefix);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  prefix = dir = undefined;
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return (await pgQuery(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0].n as number;
}

describe("faults - postgres inbox SIGKILL", () => {
  it("faults - postgres: consumers SIGKILLed between write and commit (and at random), many times: lost 0, double effects 0 with the inbox", async () => {
    const p = (prefix = pgPrefix());
    const d = (dir = mkdtempSync(join(tmpdir(), "missive-pg-fault-")));
    const checker: Checker = createChecker();
    const journals: string[] = [];

    const bus = await missive({ transport: `${PG_URL}?tablePrefix=${p}`, service: "pg-fault-producer" });
    await pgQuery(`CREATE TABLE ${p}effects (message_id text NOT NULL, pid int NOT NULL)`);
    await bus.declare(OrderPlaced, GROUP);
    await Promise.all(Array.from({ length: 1500 }, async (_, i) => {
      const id = uuidv7();
      checker.attempted(id);
      await bus.publish(OrderPlaced, { orderId: `k${i % 50}`, seq: i, totalCents: 1 }, { id });
      checker.confirmed(id);
    }));
    await bus.close();

    const start = async (name: string, stallAfter?: number): Promise<{ child: ReturnType<typeof forkFixture>; handled(): number }> => {
      const journal = join(d, `${name}.journal`);
      journals.push(journal);
      const args: PgFaultConsumerArgs = { url: PG_URL, prefix: p, group: GROUP, journal, concurrency: 8, ...(stallAfter === undefined ? {} : { stallAfter }) };
      const child = forkFixture("postgres-fault-consumer", [JSON.stringify(args)]);
      let handled = 0;
      child.on("message", (m: PgFaultConsumerMessage) => {
        if ("handled" in m) handled = m.handled;
      });
      await nextMessage(child, (m: PgFaultConsumerMessage) => "ready" in m, 30_000, `consumer ${name} ready`);
      return { child, handled: () => handled };
    };

    // Between the write and the commit: each victim hangs inside its open transaction, then dies.
    for (let i = 0; i < STALL_KILLS; i++) {
      const victim = await start(`stall-${i}`, 10 + Math.floor(Math.random() * 30));
      await killOnMessage(victim.child, (m: PgFaultConsumerMessage) => "stalled" in m, 60_000, `victim ${i} stalled inside its transaction`);
    }
    // Anywhere: once a victim is handling, a kill after a random moment lands mid-handler, mid-commit or between.
    for (let i = 0; i < RANDOM_KILLS; i++) {
      const victim = await start(`random-${i}`);
      await waitFor(() => victim.handled() > 0, 60_000, `random victim ${i} handling`);
      await new Promise((r) => setTimeout(r, Math.random() * 150));
      victim.child.kill("SIGKILL");
      await exited(victim.child);
    }
    const survivor = await start("survivor");
    await waitFor(async () => (await count(`${p}queue WHERE group_name = $1`, [GROUP])) === 0, 120_000, "the survivor to drain the queue");
    survivor.child.kill("SIGKILL");
    await exited(survivor.child);

    for (const journal of journals) for (const { id } of readJournal(journal)) checker.handled(id);
    const effects = await pgQuery(`SELECT message_id, count(*)::int AS n FROM ${p}effects GROUP BY message_id`);
    for (const row of effects.rows as Array<{ message_id: string; n: number }>) checker.effect(row.message_id, row.n);
    const inboxRows = await count(`${p}inbox WHERE group_name = $1`, [GROUP]);
    const deadLetters = await count(`${p}dead_letters`);
    const r = checker.check();
    console.log(`[fault] postgres inbox sigkill: kills=${STALL_KILLS + RANDOM_KILLS} inbox_rows=${inboxRows} dead_letters=${deadLetters} ${checker.summary()}`);
    expect(r.confirmed).toBe(1500);
    expect(r.lost).toEqual([]);
    expect(r.doubleEffects).toEqual([]);
    expect(r.missingEffects).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(inboxRows).toBe(1500);
    expect(deadLetters).toBe(0);
    // Each stalled victim's handler had written, then ran again elsewhere after the kill.
    expect(r.duplicates).toBeGreaterThanOrEqual(STALL_KILLS);
  }, 300_000);
});
