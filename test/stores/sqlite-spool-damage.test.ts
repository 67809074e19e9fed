/**
 * The spool file when it is not as missive wrote it: rows edited or damaged
 * by hand (parked with the reason, never sent altered), a counters row gone
 * or wrong (recounted), a position past 2^53 (refused), another SQLite file
 * opened with create: false (refused, left untouched), lease and status
 * records of the wrong shape (ignored), and a dead lease holder that only
 * looks dead from another PID namespace (not taken over).
 */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { ConfigurationError, missive, type StatusEvent } from "../../src/index.js";
import { openSqliteSpool } from "../../src/stores/spool/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { receiveAtLeast } from "../support/receive.js";
import { spoolFiles } from "../support/spool-files.js";
import { waitFor } from "../support/wait.js";

const { spoolPath, keep } = spoolFiles("spool-damage", 200);

const message = (id: string, key = "k") => ({
  topic: OrderPlaced.type,
  id,
  key,
  wire: { headers: { "ce-id": id, "ce-type": OrderPlaced.type }, body: new TextEncoder().encode("{}") },
});

/** A spool with `ids` appended, then the file edited with `sql` through a plain connection. */
function spoolWith(ids: string[], ...sql: string[]): string {
  const path = spoolPath();
  const spool = openSqliteSpool({ path });
  spool.append(ids.map((id) => message(id)));
  spool.close();
  const db = new Database(path);
  for (const s of sql) db.exec(s);
  db.close();
  return path;
}

describe("spool file damage", () => {
  it("spool damage - damaged rows (a text body, headers not an object of strings, an id that is not its ce-id) are marked, never read as good", () => {
    const path = spoolWith(["a", "b", "c", "d", "e"],
      "UPDATE missive_spool SET body = 'text' WHERE id = 'b'",
      `UPDATE missive_spool SET headers = '{"ce-id": 7}' WHERE id = 'c'`,
      "UPDATE missive_spool SET headers = 'not json' WHERE id = 'd'",
      "UPDATE missive_spool SET id = 'other' WHERE id = 'e'");
    const spool = openSqliteSpool({ path, readonly: true });
    try {
      const rows = spool.peek(10);
      expect(rows.map((r) => [r.message.id, r.damaged?.replace(/:.*/, "")])).toEqual([
        ["a", undefined], ["b", "damaged row"], ["c", "damaged row"], ["d", "damaged row"], ["other", "damaged row"],
      ]);
    } finally {
      spool.close();
    }
  });

  it("spool damage - a bus flushing a damaged file parks the damaged rows with the reason and sends the rest in order, unaltered", async () => {
    const path = spoolWith(["a", "b", "c"], "UPDATE missive_spool SET body = 42 WHERE id = 'b'");
    const broker = createMemoryBroker();
    const events: StatusEvent[] = [];
    const setup = broker.transport();
    await setup.connect();
    await setup.bind("g", [OrderPlaced.type]);
    const bus = await missive({ service: "spool-damage", transport: broker.transport(), publisher: { spool: path } });
    keep(bus);
    bus.onStatus((e) => events.push(e));
    await waitFor(() => bus.status().spool?.messages === 0, 10_000, "the spool flushed");
    expect(bus.status().spool?.parked).toBe(1);
    const parked = events.filter((e) => e.type === "spool-parked");
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ messageId: "b", reason: "damaged row: the body is not bytes" });
    const sub = await setup.subscribe({ group: "g", topics: [OrderPlaced.type], prefetch: 10, ordered: false, leaseMs: 30_000 });
    const got = await receiveAtLeast(sub, 2, 5000);
    await sub.close();
    expect(got.map((d) => d.wire.headers["ce-id"])).toEqual(["a", "c"]);
    expect(got.map((d) => new TextDecoder().decode(d.wire.body))).toEqual(["{}", "{}"]);
  });

  it("spool damage - counters that disagree with the rows, or are gone, are recounted at open; a read-only open counts the rows", () => {
    const wrong = spoolWith(["a", "b"], "UPDATE missive_spool_counters SET messages = 0, bytes = 0");
    const s1 = openSqliteSpool({ path: wrong });
    expect(s1.depth().messages).toBe(2);
    s1.close();
    const gone = spoolWith(["a", "b", "c"], "DELETE FROM missive_spool_counters");
    const ro = openSqliteSpool({ path: gone, readonly: true });
    expect(ro.depth().messages).toBe(3);
    ro.close();
    const rw = openSqliteSpool({ path: gone });
    expect(rw.depth().messages).toBe(3);
    expect(rw.room().messages).toBe(100_000 - 3);
    rw.close();
  });

  it("spool damage - a position past 2^53 is refused with a ConfigurationError (it would be rounded and never forgotten)", () => {
    const path = spoolWith(["a"], "UPDATE missive_spool SET seq = 9007199254740993");
    expect(() => openSqliteSpool({ path })).toThrow(ConfigurationError);
    expect(() => openSqliteSpool({ path, readonly: true })).toThrow(/past 2\^53/);
  });

  it("spool damage - create: false on another SQLite file is a ConfigurationError and leaves the file as it was", () => {
    const path = spoolPath();
    const other = new Database(path);
    other.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY)");
    other.close();
    expect(() => openSqliteSpool({ path, create: false })).toThrow(ConfigurationError);
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("delete");
      expect((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name)).toEqual(["orders"]);
    } finally {
      db.close();
    }
  });

  it("spool damage - lease and status records of the wrong shape read as none", () => {
    const path = spoolWith([],
      `INSERT INTO missive_spool_meta (name, value) VALUES ('lease', '{"owner": 1, "host": "h", "pid": 1, "expiresAt": 1}')`,
      `INSERT INTO missive_spool_meta (name, value) VALUES ('status', '{"broker": "\\u001b[2J", "breaker": "open", "pid": 1, "host": "h", "at": 1}')`);
    const spool = openSqliteSpool({ path });
    try {
      expect(spool.leaseHolder()).toBeUndefined();
      expect(spool.readStatus()).toBeUndefined();
      expect(spool.lease("me", 10_000)).toBe(true);
    } finally {
      spool.close();
    }
  });

  it("spool damage - a holder whose pid is gone is taken over only from its own node (host, boot, PID namespace), not from a look-alike host", () => {
    const path = spoolPath();
    const spool = openSqliteSpool({ path });
    try {
      expect(spool.lease("holder", 60_000)).toBe(true);
      const mine = spool.leaseHolder()!;
      expect(mine.node).toContain(mine.host);
      // A dead pid (far past pid_max) recorded by this node: taken over at once.
      const dead = 2 ** 30;
      const db = new Database(path);
      const setLease = (node: string) => db.prepare("UPDATE missive_spool_meta SET value = ? WHERE name = 'lease'")
        .run(JSON.stringify({ owner: "holder", host: mine.host, pid: dead, node, expiresAt: Date.now() + 60_000 }));
      setLease(mine.node!);
      expect(spool.lease("next", 60_000)).toBe(true);
      // The same host name and pid from another PID namespace: alive for all we know; it keeps its lease.
      setLease(`${mine.node!}-elsewhere`);
      expect(spool.lease("next", 60_000)).toBe(false);
      db.close();
    } finally {
      spool.close();
    }
  });
});
