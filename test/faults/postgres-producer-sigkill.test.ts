/**
 * Fault: a producer process SIGKILLed mid-stream on the shared PostgreSQL
 * server (tables under a prefix of the test's own). A publish is confirmed
 * only after its rows commit, so every id the producer saw confirmed is
 * handled by a later drain, exactly once; ids in flight at the kill may or
 * may not arrive (indeterminate: their transaction dies with the
 * connection), and nothing arrives that was never attempted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { missive, type Bus } from "../../src/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import type { FaultProducerMessage } from "../fixtures/fault-producer.js";
import { readJournal } from "../fixtures/journal.js";
import type { PgProducerArgs } from "../fixtures/postgres-producer.js";
import { createChecker } from "../support/checker.js";
import { forkFixture, killFixtures, killOnMessage, nextMessage } from "../support/fixture-process.js";
import { dropPrefix, PG_URL, pgPrefix, pgQuery } from "../support/postgres.js";
import { sleep, waitFor } from "../support/wait.js";

const GROUP = "billing";
const CONFIRMED_BEFORE_KILL = 3000;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  killFixtures();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe("faults - postgres producer sigkill", () => {
  it("faults - postgres: a producer SIGKILLed mid-stream: every confirmed message is handled once (lost 0, double 0), none unexpected", async () => {
    const prefix = pgPrefix();
    const dir = mkdtempSync(join(tmpdir(), "missive-pg-producer-"));
    cleanups.push(async () => {
      await dropPrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    });
    const open = async (): Promise<Bus> => {
      const bus = await missive({ transport: `${PG_URL}?tablePrefix=${prefix}&pollMaxMs=100`, service: "pg-producer-sigkill" });
      cleanups.push(() => bus.close({ deadline: "5s" }));
      return bus;
    };
    const setup = await open();
    await setup.declare(OrderPlaced, GROUP);

    const checker = createChecker();
    const journal = join(dir, "producer.journal");
    const args: PgProducerArgs = { url: PG_URL, prefix, journal, concurrency: 32 };
    const producer = forkFixture("postgres-producer", [JSON.stringify(args)]);
    let confirmed = 0;
    producer.on("message", (m: FaultProducerMessage) => {
      if ("confirmed" in m) {
        confirmed++;
        checker.confirmed(m.confirmed);
      } else if ("rejected" in m) checker.rejected(m.rejected, m.error);
    });
    await nextMessage(producer, (m: FaultProducerMessage) => "ready" in m, 30_000, "the producer is ready");
    await killOnMessage(producer, (m: FaultProducerMessage) => "confirmed" in m && confirmed >= CONFIRMED_BEFORE_KILL, 90_000, `${CONFIRMED_BEFORE_KILL} confirmed publishes`);

    const drain = await open();
    await drain.consume(OrderPlaced, { group: GROUP, concurrency: 16 }, async (_order, ctx) => {
      checker.handled(ctx.message.id);
    }).ready;
    const depth = async (): Promise<number> => Number((await pgQuery(`SELECT count(*) AS n FROM ${prefix}queue`)).rows[0].n);
    await waitFor(async () => {
      await sleep(200);
      return (await depth()) === 0;
    }, 60_000, "the drain to empty the queue");
    await sleep(500); // acks committed before handled() ran; a late second copy would show in this time
    for (const { event, id } of readJournal(journal)) if (event === "a") checker.attempted(id);
    const deadLetters = Number((await pgQuery(`SELECT count(*) AS n FROM ${prefix}dead_letters`)).rows[0].n);

    const r = checker.check();
    console.log(`[fault] postgres producer sigkill: dead_letters=${deadLetters} ${checker.summary()}`);
    expect(r.confirmed).toBeGreaterThanOrEqual(CONFIRMED_BEFORE_KILL);
    expect(r.lost).toEqual([]);
    expect(r.duplicates).toBe(0);
    expect(r.unexpected).toEqual([]);
    expect(r.rejected).toBe(0);
    expect(deadLetters).toBe(0);
  }, 150_000);
});
