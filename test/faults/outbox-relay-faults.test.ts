/**
 * Faults around the PostgreSQL outbox relay (DESIGN.md §8), counted by the
 * checker after a final drain: two relay processes racing on one table, one
 * SIGKILLed between a transport confirm and marking the rows sent, the
 * others' connections killed with pg_terminate_backend, a transaction held
 * open while later ones commit, a consumer SIGKILLed between its effect's
 * commit and its ack. Nothing committed is lost, no effect happens twice,
 * and each key's effects keep their order.
 */
import { afterEach, describe, expect, it } from "vitest";
import { missive, type Bus } from "../../src/index.js";
import { postgresInbox } from "../../src/stores/postgres/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import type { OutboxConsumerArgs, OutboxConsumerMessage } from "../fixtures/outbox-consumer.js";
import type { OutboxRelayArgs, OutboxRelayMessage } from "../fixtures/outbox-relay.js";
import { createChecker } from "../support/checker.js";
import { forkFixture, killFixtures, killOnMessage, nextMessage } from "../support/fixture-process.js";
import { sleep, waitFor } from "../support/wait.js";
import { GROUP, keyOrderViolations, outboxWorld, type OutboxWorld } from "./outbox-fault-support.js";
import { queueDepth } from "./sqlite-fault-support.js";

afterEach(() => killFixtures());

async function startRelay(w: OutboxWorld, appName: string, republished: Map<string, number>, stallAfterConfirm = false) {
  const args: OutboxRelayArgs = { dbUrl: w.pgUrl, table: w.names.outbox, brokerPath: w.brokerPath, appName, batchSize: 16, stallAfterConfirm };
  const child = forkFixture("outbox-relay", [JSON.stringify(args)]);
  child.on("message", (m: OutboxRelayMessage) => {
    if ("confirmed" in m) for (const id of m.confirmed) republished.set(id, (republished.get(id) ?? 0) + 1);
  });
  await nextMessage(child, (m: OutboxRelayMessage) => "ready" in m, 30_000, `relay ${appName} ready`);
  return child;
}

describe("faults - outbox relay", () => {
  it("faults - relays racing, one SIGKILLed between confirm and mark, connections terminated, a late commit: lost 0, double effects 0, key order kept", { timeout: 120_000 }, async () => {
    const w = await outboxWorld();
    let bus: Bus | undefined;
    try {
      const checker = createChecker();
      const confirms = new Map<string, number>();
      // The consumer: inbox and effects in PostgreSQL, in one transaction.
      bus = await missive({ service: "fault-consumer", transport: sqliteTransport({ path: w.brokerPath }) });
      await bus.consume(OrderPlaced, { group: GROUP, concurrency: 8, ordered: true, idempotency: postgresInbox({ pool: w.pool, table: w.names.inbox }) }, async (order, ctx) => {
        checker.handled(ctx.message.id);
        await ctx.transaction((c) => c.query(`INSERT INTO "${w.names.effects}" (message_id, msg_key, seq) VALUES ($1, $2, $3)`, [ctx.message.id, order.orderId, order.seq]));
      }).ready;

      // A transaction that takes its sequence value first and commits last.
      const held = await w.pool.connect();
      await held.query("BEGIN");
      const { id: lateId } = await w.outbox.add(held, OrderPlaced, { orderId: "late", seq: 0, totalCents: 1 });
      checker.attempted(lateId);

      const victim = await startRelay(w, "relay-victim", confirms, true);
      const racer = await startRelay(w, "relay-racer", confirms);
      const keys = 24;
      let seq = 0;
      const writeSome = async (rounds: number): Promise<void> => {
        for (let r = 0; r < rounds; r++, seq++) await w.write(checker, Array.from({ length: 6 }, (_, i) => [`k${(seq * 6 + i) % keys}`, seq] as const));
      };
      // SIGKILL the victim right after a confirm, before it marks the batch sent.
      const killing = killOnMessage(victim, (m: OutboxRelayMessage) => "confirmed" in m && m.confirmed.length > 0, 30_000, "a confirmed batch on the victim");
      while (!(await Promise.race([killing.then(() => true), sleep(0).then(() => false)]))) await writeSome(1);
      const killed = await killing;
      const killedBatch = (killed as { confirmed: string[] }).confirmed;
      const third = await startRelay(w, "relay-third", confirms);
      await writeSome(20);
      // Cut every relay connection under the racing relays (ours only, by application_name).
      const cut = await w.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ('relay-racer', 'relay-third')");
      await writeSome(20);
      await held.query("COMMIT");
      held.release();
      checker.confirmed(lateId);

      const total = checker.check().confirmed;
      await waitFor(async () => (await w.outbox.lag()).unsent === 0, 60_000, "the relays to drain the outbox");
      await waitFor(async () => new Set((await w.effects()).map((e) => e.id)).size >= total, 60_000, "every effect");
      await sleep(300);
      racer.kill("SIGKILL");
      third.kill("SIGKILL");

      const effects = await w.effects();
      const counts = new Map<string, number>();
      for (const e of effects) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
      for (const [id, n] of counts) checker.effect(id, n);
      const r = checker.check();
      const republished = [...confirms.values()].filter((n) => n > 1).length;
      console.log(`[fault] outbox relays: rows=${total} killed_batch=${killedBatch.length} terminated_connections=${cut.rowCount ?? 0} republished=${republished} ${checker.summary()}`);
      expect(r.lost).toEqual([]);
      expect(r.doubleEffects).toEqual([]);
      expect(r.missingEffects).toEqual([]);
      expect(r.unexpected).toEqual([]);
      expect(keyOrderViolations(effects)).toEqual([]);
      // The killed batch was confirmed but never marked: every row of it went out again, same id.
      for (const id of killedBatch) expect(confirms.get(id)).toBeGreaterThanOrEqual(2);
      expect(counts.get(lateId)).toBe(1);
    } finally {
      await bus?.close({ deadline: 1000 });
      await w.teardown();
    }
  });

  it("faults - a consumer SIGKILLed between its effect's commit and its ack: the redelivery is absorbed by the PostgreSQL inbox", async () => {
    const w = await outboxWorld();
    try {
      const checker = createChecker();
      for (let i = 0; i < 10; i++) await w.write(checker, Array.from({ length: 6 }, (_, j) => [`k${j}`, i] as const));
      const consumerArgs = (stallAfterEffect?: number): OutboxConsumerArgs => ({ pgUrl: w.pgUrl, inboxTable: w.names.inbox, effectsTable: w.names.effects, brokerPath: w.brokerPath, group: GROUP, ...(stallAfterEffect ? { stallAfterEffect } : {}) });
      const victim = forkFixture("outbox-consumer", [JSON.stringify(consumerArgs(15))]);
      const relays = new Map<string, number>();
      await startRelay(w, "relay-consumer-test", relays);
      const stalled = (await killOnMessage(victim, (m: OutboxConsumerMessage) => "stalled" in m, 30_000, "the victim between effect and ack")) as { stalled: string };
      const survivor = forkFixture("outbox-consumer", [JSON.stringify(consumerArgs())]);
      await waitFor(async () => new Set((await w.effects()).map((e) => e.id)).size >= 60, 60_000, "all 60 effects");
      // The stalled message's lease runs out and it comes back to the survivor, whose inbox says: done already.
      await waitFor(() => queueDepth(w.brokerPath) === 0, 30_000, "the redelivered message to be acked");
      survivor.kill("SIGKILL");
      const effects = await w.effects();
      const counts = new Map<string, number>();
      for (const e of effects) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
      for (const [id, n] of counts) checker.effect(id, n);
      for (const id of counts.keys()) checker.handled(id);
      const r = checker.check();
      console.log(`[fault] consumer killed between effect and ack: stalled=${stalled.stalled} ${checker.summary()}`);
      expect(counts.get(stalled.stalled)).toBe(1);
      expect(r.lost).toEqual([]);
      expect(r.doubleEffects).toEqual([]);
      expect(keyOrderViolations(effects)).toEqual([]);
    } finally {
      await w.teardown();
    }
  });
});
