/**
 * Hostile rows written by a plain SQLite client never crash a worker and are
 * never lost: each is dead-lettered with its reason, and the worker goes on.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { DiagnosticHeaders, ErrorCodes, missive, type Bus } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { waitFor } from "../support/wait.js";
import { deadLettersOf } from "../support/abilities.js";

let dir: string | undefined;
let bus: Bus | undefined;
afterEach(async () => {
  await bus?.close({ deadline: 500 });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("sqlite - hostile rows from a plain client", () => {
  it("sqlite - bad headers column, odd header values, text body, __proto__ headers: all dead-lettered, worker alive", async () => {
    dir = mkdtempSync(join(tmpdir(), "missive-hostile-"));
    const path = join(dir, "h.db");
    bus = await missive({ service: "hostile", transport: sqliteTransport({ path }) });
    const handled: number[] = [];
    await bus.consume(OrderPlaced, { group: "victim" }, (d) => void handled.push(d.seq)).ready;
    const db = new Database(path);
    const insert = db.prepare("INSERT INTO missive_queue (group_name, topic, message_id, key, headers, body) VALUES ('victim', ?, ?, NULL, ?, ?)");
    const T = OrderPlaced.type;
    const ce = (id: string): Record<string, unknown> => ({ "ce-id": id, "ce-source": "evil", "ce-type": T, "ce-specversion": "1.0", "content-type": "application/json" });
    insert.run(T, "h-1", "not json at all", Buffer.from("{}"));
    insert.run(T, "h-2", JSON.stringify({ ...ce("h-2"), "ce-specversion": 1, "x-num": 5, "x-obj": { a: 1 } }), Buffer.from("{}"));
    insert.run(T, "h-3", '{"__proto__": {"polluted": "yes"}, "constructor": "x", "ce-id": "h-3"}', Buffer.from("{}"));
    insert.run(T, "h-4", JSON.stringify(ce("h-4")), "text body, not JSON");
    insert.run(T, "h-5", "[1,2,3]", Buffer.alloc(0));
    insert.run(T, "ok", JSON.stringify({ ...ce("ok"), "ce-dataschema": `${T}/v2` }), Buffer.from('{"orderId":"a","seq":7,"totalCents":1}'));
    db.close();
    const store = deadLettersOf(bus.transport);
    await waitFor(async () => (await store.count({ group: "victim" })) === 5 && handled.length === 1, 15_000, "5 dead letters and the good message");
    expect(handled).toEqual([7]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    const entries = await store.list({ group: "victim" });
    for (const e of entries) {
      expect(e.wire.headers[DiagnosticHeaders.reason]).toBe("poison");
      expect(e.wire.headers[DiagnosticHeaders.errorCode]).toBe(ErrorCodes.DECODE);
    }
    const bad = entries.find((e) => e.wire.headers["x-missive-bad-headers"] === "not json at all");
    expect(bad, "the unparseable headers text is kept in the dead letter").toBeDefined();
  });
});
