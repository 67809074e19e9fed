/**
 * What the key-order-across-processes tests share (SQLite, PostgreSQL,
 * RabbitMQ, NATS, Redis): an ordered consumer process started and awaited, its progress
 * as it reports it, and the effects counted per process.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach } from "vitest";
import type { OrderedConsumerArgs, OrderedConsumerMessage } from "../fixtures/ordered-consumer-run.js";
import { forkFixture, killFixtures, nextMessage } from "../support/fixture-process.js";

export interface StartedConsumer {
  readonly child: ChildProcess;
  readonly journal: string;
  /** The latest counts the process reported. */
  readonly progress: { committed: number; retried: number };
}

/** Fork `fixture` (an ordered consumer fixture) with `args` and wait until it consumes. */
export async function startOrderedConsumer(fixture: string, name: string, args: OrderedConsumerArgs): Promise<StartedConsumer> {
  const child = forkFixture(fixture, [JSON.stringify(args)]);
  const progress = { committed: 0, retried: 0 };
  child.on("message", (m: OrderedConsumerMessage) => {
    if ("committed" in m) Object.assign(progress, m);
  });
  await nextMessage(child, (m: OrderedConsumerMessage) => "ready" in m, 30_000, `consumer ${name} ready`);
  return { child, journal: args.journal, progress };
}

/** Effects committed per process id. */
export function effectsByPid(path: string): Map<number, number> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT pid, COUNT(*) AS n FROM fault_effects GROUP BY pid").all() as Array<{ pid: number; n: number }>;
    return new Map(rows.map((r) => [r.pid, r.n]));
  } finally {
    db.close();
  }
}

export interface KeyOrderWorld {
  readonly dir: string;
  readonly prefix: string;
  /** The SQLite file the consumer processes write their effects into. */
  readonly effects: string;
}

/**
 * Per test: a temp dir and a broker prefix of its own, both removed after the test (the fixture processes
 * killed first). Call at a test file's top level: it registers the afterEach that cleans up.
 */
export function keyOrderWorlds(tag: string, makePrefix: () => string, dropPrefix: (prefix: string) => unknown): () => KeyOrderWorld {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    killFixtures();
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), `missive-${tag}-order-`));
    const prefix = makePrefix();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => dropPrefix(prefix));
    return { dir, prefix, effects: join(dir, "effects.db") };
  };
}
