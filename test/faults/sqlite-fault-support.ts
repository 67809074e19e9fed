/**
 * What the SQLite fault tests share: a temp directory per test, fixture
 * processes started and awaited, and the read-back of journals and effects
 * into the checker after the final drain.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach } from "vitest";
import { missive } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import type { FaultConsumerArgs, FaultConsumerMessage } from "../fixtures/fault-consumer.js";
import type { FaultProducerArgs, FaultProducerMessage } from "../fixtures/fault-producer.js";
import { readJournal } from "../fixtures/journal.js";
import type { Checker } from "../support/checker.js";
import { forkFixture, killFixtures, nextMessage } from "../support/fixture-process.js";

export const GROUP = "billing";

export interface FaultFile {
  readonly dir: string;
  /** The shared SQLite file. */
  readonly path: string;
  /** A fresh journal path in the test's directory. */
  journal(name: string): string;
  /** Every journal handed out so far. */
  readonly journals: string[];
}

/** A temp directory and database per test, removed (and fixtures killed) after it. */
export function sqliteFaultFiles(): () => FaultFile {
  const dirs: string[] = [];
  afterEach(() => {
    killFixtures();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), "missive-fault-"));
    dirs.push(dir);
    const journals: string[] = [];
    return {
      dir,
      path: join(dir, "fault.db"),
      journals,
      journal(name) {
        const p = join(dir, `${name}.journal`);
        journals.push(p);
        return p;
      },
    };
  };
}

/** Bind the group before anyone publishes, so no message is published to nobody. */
export async function declareGroup(path: string): Promise<void> {
  const setup = await missive({ service: "fault-setup", transport: sqliteTransport({ path }) });
  await setup.declare(OrderPlaced, GROUP);
  await setup.close();
}

export interface RunningConsumer {
  readonly child: ChildProcess;
  /** Handler runs completed, as last reported. */
  handled(): number;
}

export async function startConsumer(file: FaultFile, name: string, options: Partial<FaultConsumerArgs> = {}): Promise<RunningConsumer> {
  const args: FaultConsumerArgs = { path: file.path, group: GROUP, journal: file.journal(name), inbox: true, concurrency: 8, ...options };
  const child = forkFixture("fault-consumer", [JSON.stringify(args)]);
  let handled = 0;
  child.on("message", (m: FaultConsumerMessage) => {
    if ("handled" in m) handled = m.handled;
  });
  await nextMessage(child, (m: FaultConsumerMessage) => "ready" in m, 30_000, `consumer ${name} ready`);
  return { child, handled: () => handled };
}

/** Starts a producer whose confirms and rejections go straight into the checker. */
export async function startProducer(file: FaultFile, name: string, checker: Checker, options: Partial<FaultProducerArgs> = {}): Promise<{ child: ChildProcess; confirmed(): number; done: Promise<unknown> }> {
  const args: FaultProducerArgs = { path: file.path, journal: file.journal(name), count: 0, concurrency: 32, keyPrefix: "k", ...options };
  const child = forkFixture("fault-producer", [JSON.stringify(args)]);
  let confirmed = 0;
  child.on("message", (m: FaultProducerMessage) => {
    if ("confirmed" in m) {
      confirmed++;
      checker.confirmed(m.confirmed);
    } else if ("rejected" in m) checker.rejected(m.rejected, m.error);
  });
  const done = args.count > 0 ? nextMessage(child, (m: FaultProducerMessage) => "done" in m, 90_000, `producer ${name} done`) : new Promise(() => undefined);
  await nextMessage(child, (m: FaultProducerMessage) => "ready" in m, 30_000, `producer ${name} ready`);
  return { child, confirmed: () => confirmed, done };
}

/** Messages of the group still in the queue (pending or leased): 0 once everything was acked. */
export function queueDepth(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT count(*) FROM missive_queue WHERE group_name = ?").pluck().get(GROUP) as number;
  } finally {
    db.close();
  }
}

/**
 * After the final drain: journals into the checker (attempts, handler runs),
 * effect rows into it, and the dead-letter count (expected 0: nothing here is poison).
 */
export function readBack(file: FaultFile, checker: Checker): { deadLetters: number } {
  for (const journal of file.journals) {
    for (const { event, id } of readJournal(journal)) {
      if (event === "a") checker.attempted(id);
      else checker.handled(id);
    }
  }
  const db = new Database(file.path, { readonly: true, fileMustExist: true });
  try {
    const hasEffects = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'fault_effects'").pluck().get() === 1;
    if (hasEffects) {
      for (const row of db.prepare("SELECT message_id, count(*) AS n FROM fault_effects GROUP BY message_id").all() as Array<{ message_id: string; n: number }>) {
        checker.effect(row.message_id, row.n);
      }
    }
    return { deadLetters: db.prepare("SELECT count(*) FROM missive_dead_letters").pluck().get() as number };
  } finally {
    db.close();
  }
}
