/** The seam suite on the SQLite transport: a database file per test. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSeamSuite, seamFeatures } from "../../../src/testing/index.js";
import { sqliteTransport, type SqliteTransport } from "../../../src/transports/sqlite/index.js";

let dir: string | undefined;
// The features come from the transport itself; a throwaway in-memory database is enough to read them.
const probe = sqliteTransport({ path: ":memory:" });
const features = seamFeatures(probe, { leases: true, exactAttempts: true, countsConsumers: true });
await probe.close();
const path = (): string => join(dir ??= mkdtempSync(join(tmpdir(), "missive-seam-")), "broker.db");

runSeamSuite<SqliteTransport>({
  name: "sqlite",
  features,
  afterEach: async () => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  },
  open: () => sqliteTransport({ path: path() }),
  // A process that stalled past its leases: another consumer may claim its rows, and its own settles find them gone.
  expireLeases: async (t) => {
    t.database.prepare(`UPDATE ${t.tablePrefix}queue SET visible_at = 0, lease_token = 'expired-' || seq WHERE lease_token IS NOT NULL`).run();
  },
  plain: {
    // A plain better-sqlite3 client on the documented tables (docs/transports/sqlite.md).
    async publish(topic, wire) {
      const t = sqliteTransport({ path: path() });
      try {
        t.database.prepare(
          `INSERT INTO ${t.tablePrefix}queue (group_name, topic, message_id, key, headers, body)
           SELECT group_name, ?, ?, ?, ?, ? FROM ${t.tablePrefix}bindings WHERE topic = ?`,
        ).run(topic, wire.headers["ce-id"] ?? "plain", wire.headers["ce-key"] ?? null, JSON.stringify(wire.headers), Buffer.from(wire.body), topic);
      } finally {
        await t.close();
      }
    },
  },
});
