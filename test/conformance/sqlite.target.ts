import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { missive, type Bus, type WireMessage } from "../../src/index.js";
import { sqliteInbox, sqliteTransport } from "../../src/transports/sqlite/index.js";
import type { ConformanceTarget, PlainClient } from "./target.js";

/** A plain better-sqlite3 client working on the documented tables (docs/transports/sqlite.md). */
function plainSqlite(path: string): PlainClient & { close(): void } {
  const db = new Database(path);
  db.pragma("busy_timeout = 5000");
  return {
    async publish(topic, headers, body) {
      db.prepare(
        `INSERT INTO missive_queue (group_name, topic, message_id, key, headers, body)
         SELECT group_name, ?, ?, ?, ?, ? FROM missive_bindings WHERE topic = ?`,
      ).run(topic, headers["ce-id"] ?? "plain", headers["ce-key"] ?? null, JSON.stringify(headers), Buffer.from(body), topic);
    },
    async take(group, max) {
      const rows = db.prepare(`SELECT seq, headers, body FROM missive_queue WHERE group_name = ? ORDER BY seq LIMIT ?`).all(group, max) as Array<{ seq: number; headers: string; body: Buffer }>;
      db.prepare(`DELETE FROM missive_queue WHERE seq IN (${rows.map(() => "?").join(",") || "NULL"})`).run(...rows.map((r) => r.seq));
      return rows.map((r): WireMessage => ({ headers: JSON.parse(r.headers) as Record<string, string>, body: new Uint8Array(r.body) }));
    },
    close: () => db.close(),
  };
}

export const sqliteTarget: ConformanceTarget = {
  name: "sqlite",
  capabilities: { nativeDelay: true, ordering: "key", maxMessageBytes: 64 * 1024 * 1024, priorities: 10 },
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), "missive-conformance-"));
    const path = join(dir, "broker.db");
    // Create the schema before the plain client opens the file.
    const first = sqliteTransport({ path });
    await first.connect();
    const plain = plainSqlite(path);
    return {
      leaseMs: 500,
      plain,
      async bus(options) {
        const transport = sqliteTransport({ path });
        return missive({ service: "conformance", inbox: sqliteInbox(transport), ...options, transport });
      },
      async kill(bus: Bus) {
        // Drop the connection with nothing settled, as a crash would; the leases bring the messages back.
        await bus.transport.close();
        await bus.close({ deadline: 0 });
      },
      async teardown() {
        plain.close();
        await first.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
