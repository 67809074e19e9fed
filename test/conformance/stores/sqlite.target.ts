import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { sqliteInboxStore, sqliteOutbox, type SqliteInboxStoreOptions } from "../../../src/stores/sqlite/index.js";
import { uniqueSuffix, type StoreTarget } from "./store-target.js";

export function openSqlite(path: string): Database.Database {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  return db;
}

export const sqliteStoreTarget: StoreTarget = {
  name: "sqlite",
  concurrentWriters: false,
  notify: false,
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), "missive-stores-"));
    const path = join(dir, "app.db");
    const db = openSqlite(path);
    const s = uniqueSuffix();
    const names = { outbox: `t_outbox_${s}`, inbox: `t_inbox_${s}`, effects: `t_effects_${s}` };
    const outbox = sqliteOutbox({ database: db, table: names.outbox, source: "store-conformance" });
    outbox.migrate();
    db.exec(`CREATE TABLE "${names.effects}" (message_id TEXT NOT NULL)`);
    const handles: Database.Database[] = [db];
    const stores: Array<{ close(): void }> = [];
    const relays: Array<{ stop(): Promise<void> }> = [];
    const effect = (tx: Database.Database, id: string): unknown => tx.prepare(`INSERT INTO "${names.effects}" (message_id) VALUES (?)`).run(id);
    return {
      async inbox(options = {}) {
        // Each inbox on a connection of its own, as another process would have.
        const own = openSqlite(path);
        handles.push(own);
        const inbox = sqliteInboxStore({ database: own, table: names.inbox, ...options } as SqliteInboxStoreOptions);
        inbox.migrate();
        stores.push(inbox);
        return inbox;
      },
      effect: (tx, id) => void effect(tx as Database.Database, id),
      async effects() {
        const rows = db.prepare(`SELECT message_id, count(*) AS n FROM "${names.effects}" GROUP BY message_id`).all() as Array<{ message_id: string; n: number }>;
        return new Map(rows.map((x) => [x.message_id, x.n]));
      },
      async write(adds, options) {
        const ids: string[] = [];
        const tx = db.transaction(() => {
          for (const a of adds) {
            const { id } = outbox.add(db, a.definition, a.data, a.options);
            effect(db, id);
            ids.push(id);
          }
          if (options?.rollback) throw new RollBack();
        });
        try {
          tx.immediate();
        } catch (err) {
          if (!(err instanceof RollBack)) throw err;
        }
        return ids;
      },
      relay(transport, options = {}) {
        const own = openSqlite(path);
        handles.push(own);
        const relay = sqliteOutbox({ database: own, table: names.outbox, source: "store-conformance", leaseMs: 2000 }).relay({ transport, pollIntervalMs: 20, ...options });
        relays.push(relay);
        return relay;
      },
      lag: () => outbox.lag(),
      async rows() {
        const rows = db.prepare(`SELECT message_id, sent_at, attempts FROM "${names.outbox}" ORDER BY seq`).all() as Array<{ message_id: string; sent_at: number | null; attempts: number }>;
        return rows.map((x) => ({ id: x.message_id, sent: x.sent_at !== null, attempts: x.attempts }));
      },
      async ageSent(ms) {
        db.prepare(`UPDATE "${names.outbox}" SET sent_at = sent_at - ? WHERE sent_at IS NOT NULL`).run(ms);
      },
      addInTx: (tx, a) => outbox.add(tx as Database.Database, a.definition, a.data, a.options),
      async addWith(tx, a) {
        // SQLite's add is synchronous and must run inside a transaction of the handle given.
        if (tx instanceof Database) return tx.transaction(() => outbox.add(tx, a.definition, a.data, a.options))();
        return outbox.add(tx as Database.Database, a.definition, a.data, a.options);
      },
      makeOutbox: (options) => sqliteOutbox({ database: db, source: "x", ...options } as never),
      makeInbox: (options) => sqliteInboxStore({ database: db, ...options } as never),
      async teardown() {
        for (const s of stores) s.close();
        await Promise.all(relays.map((r) => r.stop().catch(() => undefined)));
        for (const h of handles) if (h.open) h.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

class RollBack extends Error {}
