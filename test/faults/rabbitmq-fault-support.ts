/**
 * What the RabbitMQ fault tests share: a virtual host of its own per test on
 * the shared broker (or a broker of the test's own), a temp directory with
 * the SQLite effects file, a keyed producer that publishes each key's
 * messages in sequence (so per-key order is defined by the confirms), an
 * ordered consumer with the inbox, and the read-back into the checker.
 * Skip rule (harness/skip.ts): under CI=true a missing broker fails.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeAll, beforeEach } from "vitest";
import { missive, uuidv7, type Bus, type BusOptions } from "../../src/index.js";
import { rabbitmqTransport, type RabbitmqTransport, type RabbitmqTransportOptions } from "../../src/transports/rabbitmq/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { openEffects, readEffects, type EffectsDb } from "../fixtures/effects-db.js";
import { readJournal } from "../fixtures/journal.js";
import type { BrokerProcess } from "../support/broker-process.js";
import { BROKER_SPECS } from "../support/broker-specs.js";
import type { Checker } from "../support/checker.js";
import { killFixtures } from "../support/fixture-process.js";
import { createVhost, rabbitmqMissing, type TestVhost } from "../support/rabbitmq.js";
import { shouldSkip } from "./harness/skip.js";

export const GROUP = "billing";

export interface RabbitmqFaults {
  /** The shared broker is missing and the test should skip (never under CI=true). */
  skip(): boolean;
  /** This test's vhost on the shared broker. */
  vhost(): TestVhost;
  /** This test's temp directory. */
  dir(): string;
  /** Run `fn` after the test (before the vhost goes), last registered first. */
  defer(fn: () => unknown): void;
}

/** Hooks for a RabbitMQ fault test file; `shared: false` for tests that start a broker of their own. */
export function rabbitmqFaults(options: { shared: boolean; missing?: () => string | undefined } = { shared: true }): RabbitmqFaults {
  let skip = false;
  let missing: string | undefined;
  let vhost: TestVhost | undefined;
  let dir: string | undefined;
  const cleanups: Array<() => unknown> = [];
  beforeAll(async () => {
    missing = options.shared ? await rabbitmqMissing() : options.missing?.();
    skip = shouldSkip(missing, "rabbitmq faults");
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "missive-rmq-fault-"));
    if (!skip && options.shared) vhost = await createVhost("fault");
  });
  afterEach(async () => {
    killFixtures();
    for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch(() => undefined);
    await vhost?.remove();
    vhost = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return {
    skip: () => skip,
    vhost() {
      if (!vhost) throw new Error(missing ?? "no vhost (a test of its own broker?)");
      return vhost;
    },
    dir() {
      if (!dir) throw new Error("no test directory outside a test");
      return dir;
    },
    defer: (fn) => void cleanups.push(fn),
  };
}

/** A bus on a fresh transport, closed (or destroyed, when closing hangs on a dead broker) after the test. */
export async function openBus(
  fx: RabbitmqFaults, options: RabbitmqTransportOptions, effects?: EffectsDb, busOptions: Partial<BusOptions> = {},
): Promise<{ bus: Bus; transport: RabbitmqTransport }> {
  const transport = rabbitmqTransport({ reconnectBaseMs: 50, reconnectMaxMs: 500, ...options });
  const bus = await missive({ ...busOptions, transport, service: "rabbitmq-fault", ...(effects ? { inbox: effects.inbox } : {}) });
  fx.defer(async () => {
    const closed = bus.close({ deadline: "2s" }).catch(() => undefined);
    const timedOut = await Promise.race([closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 5000))]);
    if (timedOut) transport.destroy();
  });
  return { bus, transport };
}

/** The effects file of this test, closed after it. */
export function effectsFile(fx: RabbitmqFaults): { path: string; effects: EffectsDb } {
  const path = join(fx.dir(), "effects.db");
  const effects = openEffects(path);
  fx.defer(() => effects.close());
  return { path, effects };
}

export interface KeyedPublish {
  /** Messages in all, spread over `keys` keys (`${keyPrefix}0`…); each key's messages go one after another, seq 0, 1, … */
  readonly count: number;
  readonly keys: number;
  /** Default `k`. Streams of one test that run one after the other need prefixes of their own (seq restarts at 0). */
  readonly keyPrefix?: string;
  /** Called after each confirm (the running total), e.g. to fire a fault at a chosen moment. */
  readonly onConfirmed?: (confirmed: number) => void;
}

/**
 * Publish with one sequential stream per key: a key's next message is
 * published only after the previous one resolved, so its order on the broker
 * is its seq order. Every attempt, confirm and rejection goes to the checker.
 */
export async function publishKeyed(bus: Bus, checker: Checker, p: KeyedPublish): Promise<{ confirmed: number; rejected: number; errors: unknown[]; confirmedIds: string[] }> {
  const confirmedIds: string[] = [];
  let confirmed = 0;
  let rejected = 0;
  const errors: unknown[] = [];
  await Promise.all(Array.from({ length: p.keys }, async (_, k) => {
    for (let seq = 0; seq * p.keys + k < p.count; seq++) {
      const id = uuidv7();
      checker.attempted(id);
      try {
        await bus.publish(OrderPlaced, { orderId: `${p.keyPrefix ?? "k"}${k}`, seq, totalCents: 1 }, { id });
        checker.confirmed(id);
        confirmedIds.push(id);
        confirmed++;
        p.onConfirmed?.(confirmed); // not `?.(++confirmed)`: optional call skips its arguments
      } catch (err) {
        checker.rejected(id, err);
        rejected++;
        if (errors.length < 5) errors.push(err);
      }
    }
  }));
  return { confirmed, rejected, errors, confirmedIds };
}

/**
 * An ordered consumer with the inbox, in this process: each run counted as handled, then `workMs`
 * (up to, at random) of work, then its effect in the inbox transaction. Returns the count of effects
 * this consumer committed so far.
 */
export async function consumeOrdered(bus: Bus, effects: EffectsDb, checker: Checker, options: { concurrency?: number; workMs?: number } = {}): Promise<() => number> {
  let committed = 0;
  const workMs = options.workMs ?? 0;
  await bus.consume(OrderPlaced, { group: GROUP, ordered: true, concurrency: options.concurrency ?? 16, idempotency: effects.inbox }, async (order, ctx) => {
    checker.handled(ctx.message.id);
    if (workMs > 0) await new Promise((r) => setTimeout(r, Math.random() * workMs));
    await ctx.transaction((tx) => effects.record(tx, ctx.message.id, order.orderId, order.seq));
    committed++;
  }).ready;
  return () => committed;
}

/** Polls until every id in `ids` has a committed effect, or `timeoutMs` passes; says which (the checker then counts what is missing). */
export async function settled(effectsPath: string, ids: readonly string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { counts } = readEffects(effectsPath);
    if (ids.every((id) => counts.has(id))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Journals (fixture processes) and effect rows into the checker; the per-key order check of the effects. */
export function readBack(effectsPath: string, checker: Checker, journals: readonly string[] = []): { orderViolations: number; violationSamples: string[]; effects: number } {
  for (const journal of journals) {
    for (const { event, id } of readJournal(journal)) {
      if (event === "a") checker.attempted(id);
      else checker.handled(id);
    }
  }
  const back = readEffects(effectsPath);
  for (const [id, n] of back.counts) checker.effect(id, n);
  return { orderViolations: back.orderViolations, violationSamples: back.violationSamples, effects: back.total };
}

/** The same URL (credentials, vhost) on another port of 127.0.0.1, e.g. a TCP proxy's. */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(port);
  return u.toString();
}

/** Fires `fn` every `everyMs` until stopped; says how often it fired. */
export function every(everyMs: number, fn: () => unknown): { stop(): number } {
  let fired = 0;
  const timer = setInterval(() => {
    fired++;
    void Promise.resolve().then(fn).catch(() => undefined);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return fired;
    },
  };
}

const run = promisify(execFile);

/**
 * rabbitmqctl against a node of the test's own (never the shared one): the
 * real script beside the rabbitmq-server broker-specs runs (Debian's
 * /usr/sbin wrapper would switch to the `rabbitmq` user and its cookie), the node's name from broker-specs, and its HOME (where Erlang put
 * the node's cookie) and env file (not /etc/rabbitmq's, which names the shared node).
 */
export async function ownNodeCtl(broker: BrokerProcess, args: string[], timeoutMs = 30_000): Promise<string> {
  const server = BROKER_SPECS.rabbitmq.binary();
  if (!server) throw new Error("rabbitmq-server not found");
  const { stdout } = await run(join(dirname(server), "rabbitmqctl"), ["-q", "-n", `missive-${broker.port}@localhost`, ...args], {
    env: { ...process.env, HOME: broker.dataDir, RABBITMQ_CONF_ENV_FILE: join(broker.dataDir, "rabbitmq-env.conf") },
    timeout: timeoutMs,
  });
  return stdout;
}
