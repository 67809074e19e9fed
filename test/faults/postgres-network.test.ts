/**
 * Network faults between missive and the shared PostgreSQL server, through a
 * TCP proxy of the test's own (the server is never touched; tables under a
 * prefix of the test's own): connection resets while a keyed stream is
 * published, then resets and a 3 s blackhole while an ordered consumer with
 * the inbox works through it (network-fault-support.ts). The pool and the
 * LISTEN connection both go through the proxy. A statement without an answer
 * fails after queryTimeoutMs and its connection is dropped; the LISTEN
 * connection is replaced when it stops answering (listenCheckMs); a publish
 * whose commit went unanswered is retried under its id (the inbox removes a
 * double). Counted: lost confirmed 0, double effects 0, per-key order
 * violations 0.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "vitest";
import { missive } from "../../src/index.js";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { dropPrefix, PG_URL, pgPrefix } from "../support/postgres.js";
import { expectCleanNetworkRun, networkFaults } from "./network-fault-support.js";

const COUNT = 2000;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe("faults - postgres network", () => {
  it("faults - postgres: resets while publishing, resets and a 3 s blackhole while consuming ordered: lost 0, double effects 0, order violations 0", async () => {
    const started = Date.now();
    const prefix = pgPrefix();
    const dir = mkdtempSync(join(tmpdir(), "missive-pg-net-"));
    cleanups.push(async () => {
      await dropPrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    });
    const server = new URL(PG_URL);
    const run = await networkFaults(Number(server.port || 5432), dir, COUNT, async (port, inbox) => {
      const through = new URL(PG_URL);
      through.hostname = "127.0.0.1";
      through.port = String(port);
      const transport = postgresTransport({ connectionString: through.toString(), tablePrefix: prefix, queryTimeoutMs: 3_000, listenCheckMs: 1_000, pollMaxMs: 200 });
      const bus = await missive({ service: "postgres-network", transport, ...(inbox ? { inbox } : {}), publisher: { timeout: "60s" } });
      cleanups.push(async () => {
        await bus.close({ deadline: "2s" }).catch(() => transport.close());
      });
      return bus;
    }, (fn) => cleanups.push(fn));
    console.log(`[fault] postgres network: ${run.line} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
    expectCleanNetworkRun(run, COUNT);
  }, 180_000);
});
