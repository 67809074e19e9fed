import { describe, expect, it } from "vitest";
import { ClosedError, ConfigurationError, UnroutableError } from "../../src/errors.js";
import type { SqliteTransportOptions } from "../../src/transports/sqlite/index.js";
import { sleep } from "../support/wait.js";
import { bodies, message, receiveAtLeast, sqliteFixture, subOptions } from "./sqlite-support.js";

describe("sqlite transport", () => {
  const fx = sqliteFixture();

  it("sqlite - unordered subscriptions do not wait for a key's head", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"], { ordered: false }));
    await t.publish([message("t", "k1", "K"), message("t", "k2", "K")]);
    expect(bodies(await receiveAtLeast(sub, 2)).sort()).toEqual(["k1", "k2"]);
  });

  it("sqlite - closing the transport hands unsettled leases back at once", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"], { leaseMs: 60_000 }));
    await t.publish([message("t", "m")]);
    expect(await sub.receive(1, 1000)).toHaveLength(1);
    await t.close();
    await t.close(); // idempotent
    const next = await fx.open().subscribe(subOptions("g", ["t"]));
    const [d] = await next.receive(1, 1000);
    expect(d).toMatchObject({ attempt: 2 });
    await expect(t.publish([message("t", "x")])).rejects.toBeInstanceOf(ClosedError);
    await expect(t.connect()).rejects.toBeInstanceOf(ClosedError);
    // A consumer looping on receive after the transport closed gets an error, not a spin of empty results.
    await expect(sub.receive(1, 10)).rejects.toBeInstanceOf(ClosedError);
  });

  it("sqlite - publishes in one tick share one transaction; a bind in that transaction routes the later ones", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"], { ordered: false, prefetch: 100 }));
    const bound = t.bind("late", ["t2"]);
    const results = await Promise.all([t.publish([message("t", "a")]), t.publish([message("t2", "b")]), t.publish([message("t", "c")])]);
    await bound;
    expect(results).toEqual([[undefined], [undefined], [undefined]]);
    expect(bodies(await receiveAtLeast(sub, 2)).sort()).toEqual(["a", "c"]);
  });

  it("sqlite - a transaction left open on the shared handle delays publish confirms until it ends", async () => {
    const t = fx.open();
    await t.bind("g", ["t"]);
    t.database.exec("BEGIN");
    let confirmed = false;
    const pending = t.publish([message("t", "m")]).then((r) => {
      confirmed = true;
      return r;
    });
    await sleep(30);
    expect(confirmed).toBe(false);
    t.database.exec("ROLLBACK");
    expect(await pending).toEqual([undefined]);
    expect(t.database.prepare("SELECT COUNT(*) FROM missive_queue").pluck().get()).toBe(1);
  });

  it("sqlite - a temporary subscription never removes a durable group", async () => {
    const t = fx.open();
    await t.bind("billing", ["order.created"]);
    const s = await t.subscribe(subOptions("billing", ["order.created"], { temporary: true }));
    await s.close();
    expect(await t.publish([message("order.created", "m")])).toEqual([undefined]);
  });
});

describe("sqlite transport - configuration", () => {
  const fx = sqliteFixture();

  it("sqlite - URLs: ./relative, relative and /absolute paths", async () => {
    const { parseSqliteUrl } = await import("../../src/transports/sqlite/index.js");
    expect(parseSqliteUrl("sqlite://./relative.db")).toEqual({ path: "./relative.db" });
    expect(parseSqliteUrl("sqlite://relative.db")).toEqual({ path: "relative.db" });
    expect(parseSqliteUrl("sqlite:///abs/path.db")).toEqual({ path: "/abs/path.db" });
    expect(parseSqliteUrl("sqlite:///a%20b.db?synchronous=normal&busyTimeoutMs=100")).toEqual({ path: "/a b.db", synchronous: "NORMAL", busyTimeoutMs: 100 });
    const t = fx.open(`sqlite://${fx.dir()}/via-url.db`);
    expect(t.path.endsWith("via-url.db")).toBe(true);
  });

  it("sqlite - bad URLs, options and unopenable files are ConfigurationErrors with a clear message", async () => {
    const bad = (arg: SqliteTransportOptions | string, text: RegExp): void => {
      let caught: unknown;
      try {
        fx.open(arg);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ConfigurationError);
      expect((caught as Error).message).toMatch(text);
    };
    bad("postgres://user:secret@host/db", /must start with sqlite:\/\//);
    bad("sqlite://", /names no database file/);
    bad("sqlite://x.db?nope=1", /unknown URL parameter "nope"/);
    bad({ path: `${fx.dir()}/x.db`, synchronous: "OFF" as never }, /synchronous/);
    bad({ path: `${fx.dir()}/x.db`, tablePrefix: "drop table;" }, /tablePrefix/);
    bad({ path: `${fx.dir()}/no/such/dir/x.db` }, /cannot open database file/);
    const notDb = `${fx.dir()}/not-a-db`;
    (await import("node:fs")).writeFileSync(notDb, "this is not a sqlite file, just text that is long enough to have a header ".repeat(10));
    bad({ path: notDb }, /cannot use .* as a missive database/);
    bad({ path: `${fx.dir()}/missing.db`, create: false }, /no database file at/);
    bad({ path: `${fx.dir()}/x.db`, create: "no" as never }, /`create` must be a boolean/);
    expect((await import("node:fs")).existsSync(`${fx.dir()}/missing.db`)).toBe(false);
  });

  it("sqlite - durability: synchronous comes from the processes that publish (FULL: no warnings; NORMAL says what it can lose), not from the reader's connection", async () => {
    const idle = await fx.open().durability!();
    expect(idle.settings).toMatchObject({ journal_mode: "wal", processes: "0 live" });
    expect(idle.settings["synchronous"]).toMatch(/^unknown/);
    const fullTransport = fx.open({ path: `${fx.dir()}/full.db` });
    await fullTransport.bind("g", ["t"]);
    await fullTransport.publish([message("t", "m")]);
    const full = await fullTransport.durability!();
    expect(full.settings).toMatchObject({ journal_mode: "wal", synchronous: "FULL", processes: "1 live" });
    expect(full.warnings).toEqual([]);
    expect(full.confirm).toMatch(/fsynced/);
    const normalPath = `${fx.dir()}/normal.db`;
    const normalTransport = fx.open({ path: normalPath, synchronous: "NORMAL" });
    await normalTransport.bind("g", ["t"]);
    await normalTransport.publish([message("t", "m")]);
    // Read by another connection on the file, opened FULL: it reports the publisher's NORMAL.
    const normal = await fx.open({ path: normalPath }).durability!();
    expect(normal.settings["synchronous"]).toBe("NORMAL");
    expect(normal.warnings.join(" ")).toMatch(/power loss/);
  });

  it("sqlite - a table prefix keeps two buses apart in one file", async () => {
    const a = fx.open({ tablePrefix: "app_a_" });
    const b = fx.open({ tablePrefix: "app_b_" });
    await a.bind("g", ["t"]);
    const [res] = await b.publish([message("t", "m")]);
    expect(res).toBeInstanceOf(UnroutableError);
    expect(await a.publish([message("t", "m")])).toEqual([undefined]);
  });
});
