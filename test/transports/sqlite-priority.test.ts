import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { bodies, message, sqliteFixture, subOptions } from "./sqlite-support.js";

describe("sqlite transport - priority", () => {
  const fx = sqliteFixture();

  it("sqlite - claims take higher priority first, and an ordered claim never passes an earlier row of a key", async () => {
    const t = fx.open();
    await t.connect();
    await t.bind("g", ["t"]);
    await t.publish([
      message("t", "low-1"),
      message("t", "k-low", "k"),
      message("t", "k-high", "k", { priority: 9 }),
      message("t", "mid", undefined, { priority: 5 }),
      message("t", "high", undefined, { priority: 9 }),
      message("t", "low-2"),
    ]);
    const ordered = await t.subscribe(subOptions("g", ["t"], { prefetch: 10 }));
    const first = await ordered.receive(10, 500);
    // k-high waits behind k-low (the key's head), whatever its priority.
    expect(bodies(first)).toEqual(["high", "mid", "low-1", "k-low", "low-2"]);
    for (const d of first) await d.ack();
    expect(bodies(await ordered.receive(10, 500))).toEqual(["k-high"]);
  });

  it("sqlite - a version-1 queue table gets the priority column when opened, its rows kept", async () => {
    const path = fx.dbPath();
    const db = new Database(path);
    db.exec(`CREATE TABLE missive_queue (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, group_name TEXT NOT NULL, topic TEXT NOT NULL, message_id TEXT NOT NULL, key TEXT,
      headers TEXT NOT NULL DEFAULT '{}', body BLOB NOT NULL DEFAULT x'', visible_at INTEGER NOT NULL DEFAULT 0,
      attempts INTEGER NOT NULL DEFAULT 0, lease_token TEXT, enqueued_at INTEGER NOT NULL DEFAULT 0, blocked INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX missive_queue_claim ON missive_queue (group_name, blocked, visible_at, seq);
      INSERT INTO missive_queue (group_name, topic, message_id, headers, body) VALUES ('g', 't', 'old', '{}', CAST('old' AS BLOB));`);
    db.close();
    const t = fx.open({ path });
    await t.connect();
    await t.bind("g", ["t"]);
    await t.publish([message("t", "new", undefined, { priority: 3 })]);
    const sub = await t.subscribe(subOptions("g", ["t"]));
    expect(bodies(await sub.receive(10, 500))).toEqual(["new", "old"]);
    const check = new Database(path, { readonly: true });
    const indexes = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'missive_queue'").pluck().all() as string[]).sort();
    expect(indexes).toContain("missive_queue_claim_priority");
    expect(indexes).not.toContain("missive_queue_claim");
    expect(check.prepare("SELECT value FROM missive_meta WHERE name = 'schema_version'").pluck().get()).toBe("2");
    check.close();
  });
});
