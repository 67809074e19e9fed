import { describe, expect, it } from "vitest";
import { ClosedError, ConfigurationError, LeaseLostError, UnroutableError } from "../../src/errors.js";
import type { SqliteTransportOptions } from "../../src/transports/sqlite/index.js";
import { sleep } from "../support/wait.js";
import { bodies, bodyOf, message, receiveAtLeast, sqliteFixture, subOptions, wire } from "./sqlite-support.js";

describe("sqlite transport", () => {
  const fx = sqliteFixture();

  it("sqlite - round trip keeps headers and body bytes, attempt 1, ack removes the row", async () => {
    const t = fx.open();
    expect(t.name).toBe("sqlite");
    expect(t.capabilities).toMatchObject({ nativeDelay: true, ordering: "key" });
    expect(t.capabilities.maxMessageBytes).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    await t.connect();
    const sub = await t.subscribe(subOptions("billing", ["order.created"]));
    const body = Uint8Array.from([0, 1, 2, 0xfe, 0xff, 0x00, 0x80]);
    const headers = { "ce-id": "m1", "ce-type": "order.created", "ce-key": "k1", "x-unicode": "żółw ✓ \u0000 end", traceparent: "00-abc-def-01" };
    expect(await t.publish([{ topic: "order.created", id: "m1", key: "k1", wire: wire(body, headers) }])).toEqual([undefined]);

    const [d, ...rest] = await sub.receive(10, 1000);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ topic: "order.created", group: "billing", key: "k1", attempt: 1 });
    expect(Buffer.from(d!.wire.body).equals(Buffer.from(body))).toBe(true);
    expect({ ...d!.wire.headers }).toEqual(headers);
    expect(Object.getPrototypeOf(d!.wire.headers)).toBe(null);
    await d!.ack();
    await d!.ack(); // settling twice is a no-op
    expect(await sub.receive(10, 30)).toEqual([]);
    expect(t.database.prepare("SELECT COUNT(*) FROM missive_queue").pluck().get()).toBe(0);
  });

  it("sqlite - a message with no bound group is unroutable, the rest of the batch commits", async () => {
    const t = fx.open();
    await t.bind("billing", ["order.created"]);
    const results = await t.publish([
      message("order.created", "a"),
      message("nobody.listens", "b"),
      message("order.created", "c", undefined, { group: "no-such-group" }),
      message("whatever.topic", "d", undefined, { group: "billing" }),
    ]);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toBeInstanceOf(UnroutableError);
    expect(results[2]).toBeInstanceOf(UnroutableError);
    expect(results[3]).toBeUndefined();
    const sub = await t.subscribe(subOptions("billing", ["order.created"]));
    expect(bodies(await receiveAtLeast(sub, 2)).sort()).toEqual(["a", "d"]);
  });

  it("sqlite - fan-out to every bound group; competing subscriptions split one group", async () => {
    const t = fx.open();
    const other = fx.open(); // a second instance on the same file
    const audit = await t.subscribe(subOptions("audit", ["order.created"], { ordered: false, prefetch: 100 }));
    const w1 = await t.subscribe(subOptions("workers", ["order.created"], { ordered: false, prefetch: 5 }));
    const w2 = await other.subscribe(subOptions("workers", ["order.created"], { ordered: false, prefetch: 5 }));
    const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);
    expect(await t.publish(ids.map((id) => message("order.created", id)))).toEqual(ids.map(() => undefined));

    const all = await receiveAtLeast(audit, 40);
    expect(bodies(all).sort()).toEqual([...ids].sort());
    await Promise.all(all.map((d) => d.ack()));

    const seen: string[] = [];
    const perWorker = [0, 0];
    const drain = async (s: typeof w1, i: number): Promise<void> => {
      while (seen.length < 40) {
        const got = await s.receive(5, 200);
        for (const d of got) {
          seen.push(bodyOf(d));
          perWorker[i]!++;
          await sleep(1);
          await d.ack();
        }
      }
    };
    await Promise.race([Promise.all([drain(w1, 0), drain(w2, 1)]), sleep(10_000)]);
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(perWorker[0]).toBeGreaterThan(0);
    expect(perWorker[1]).toBeGreaterThan(0);
  });

  it("sqlite - ordered: one key at a time, a retry holds back only its own key", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"], { prefetch: 10 }));
    await t.publish([message("t", "a1", "A"), message("t", "a2", "A"), message("t", "b1", "B"), message("t", "u1", undefined), message("t", "b2", "B")]);

    const first = await sub.receive(10, 1000);
    expect(bodies(first).sort()).toEqual(["a1", "b1", "u1"]);
    const byBody = new Map(first.map((d) => [bodyOf(d), d]));
    await byBody.get("a1")!.retry(300, { "ce-id": "a1", "missive-attempts": "1" });
    await byBody.get("b1")!.ack();
    await byBody.get("u1")!.ack();

    // B moves on while A's retry holds a2 back.
    const second = await sub.receive(10, 1000);
    expect(bodies(second)).toEqual(["b2"]);
    await second[0]!.ack();
    expect(await sub.receive(10, 100)).toEqual([]);

    // The retry comes back (same row, new headers, attempt 2), then a2.
    const [again] = await sub.receive(10, 3000);
    expect(bodyOf(again!)).toBe("a1");
    expect(again!.attempt).toBe(2);
    expect(again!.wire.headers["missive-attempts"]).toBe("1");
    expect(await sub.receive(10, 50)).toEqual([]);
    await again!.ack();
    const [last] = await sub.receive(10, 1000);
    expect(bodyOf(last!)).toBe("a2");
    await last!.ack();
  });

  it("sqlite - ordered across consumers: a key's next message waits while another subscription holds its head", async () => {
    const t = fx.open();
    const s1 = await t.subscribe(subOptions("g", ["t"]));
    const s2 = await fx.open().subscribe(subOptions("g", ["t"]));
    await t.publish([message("t", "k1", "K"), message("t", "k2", "K")]);
    const [head] = await s1.receive(10, 1000);
    expect(bodyOf(head!)).toBe("k1");
    expect(await s2.receive(10, 100)).toEqual([]);
    const waiting = s2.receive(10, 3000);
    await sleep(20);
    await head!.ack();
    expect(bodies(await waiting)).toEqual(["k2"]);
  });

  it("sqlite - unordered subscriptions do not wait for a key's head", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"], { ordered: false }));
    await t.publish([message("t", "k1", "K"), message("t", "k2", "K")]);
    expect(bodies(await receiveAtLeast(sub, 2)).sort()).toEqual(["k1", "k2"]);
  });

  it("sqlite - delayMs keeps a message invisible until due, and a waiting receive wakes for it", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"]));
    const start = Date.now();
    await t.publish([message("t", "later", undefined, { delayMs: 400 })]);
    expect(await sub.receive(10, 100)).toEqual([]);
    const got = await sub.receive(10, 5000);
    expect(bodies(got)).toEqual(["later"]);
    const elapsed = Date.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(3000);
  });

  it("sqlite - a waiting receive wakes on a publish from another instance in the process", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"]));
    const waiting = sub.receive(10, 5000);
    await sleep(50);
    const start = Date.now();
    await fx.open().publish([message("t", "x")]);
    expect(bodies(await waiting)).toEqual(["x"]);
    expect(Date.now() - start).toBeLessThan(1000);
  });

  it("sqlite - receive resolves [] on timeout and once the subscription closes", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"]));
    const start = Date.now();
    expect(await sub.receive(10, 80)).toEqual([]);
    expect(Date.now() - start).toBeGreaterThanOrEqual(70);
    const waiting = sub.receive(10, 10_000);
    await sleep(20);
    await sub.close();
    expect(await waiting).toEqual([]);
    expect(await sub.receive(10, 10_000)).toEqual([]);
  });

  it("sqlite - never more than prefetch unsettled; a settle lets a waiting receive continue", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"], { prefetch: 2, ordered: false }));
    await t.publish(["a", "b", "c", "d"].map((id) => message("t", id)));
    const first = await sub.receive(10, 1000);
    expect(first).toHaveLength(2);
    expect(await sub.receive(10, 50)).toEqual([]);
    const waiting = sub.receive(10, 3000);
    await sleep(20);
    await first[0]!.ack();
    expect(await waiting).toHaveLength(1);
  });

  it("sqlite - an expired lease redelivers with the next attempt number", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"], { leaseMs: 200 }));
    await t.publish([message("t", "m")]);
    // A consumer that died holding the message: leased, never renewed.
    const now = Date.now();
    t.database.prepare("UPDATE missive_queue SET lease_token = 'dead', visible_at = ?, attempts = attempts + 1").run(now + 200);
    expect(await sub.receive(10, 50)).toEqual([]);
    const [d] = await sub.receive(10, 3000);
    expect(Date.now() - now).toBeGreaterThanOrEqual(150);
    expect(d).toMatchObject({ attempt: 2 });
    await d!.ack();
  });

  it("sqlite - held deliveries are renewed, so a long handler keeps its lease", async () => {
    const t = fx.open();
    // Renewed every 200 ms: a stall of up to 400 ms (a loaded CI box) still keeps the lease.
    const holder = await t.subscribe(subOptions("g", ["t"], { leaseMs: 600 }));
    const rival = await fx.open().subscribe(subOptions("g", ["t"], { leaseMs: 600 }));
    await t.publish([message("t", "long")]);
    const [d] = await holder.receive(1, 1000);
    expect(d).toBeDefined();
    expect(await rival.receive(1, 2000)).toEqual([]); // more than three leases later
    await d!.ack();
  });

  it("sqlite - settling after the lease was lost rejects with LeaseLostError", async () => {
    const t = fx.open();
    const a = await t.subscribe(subOptions("g", ["t"], { leaseMs: 5000 }));
    const b = await t.subscribe(subOptions("g", ["t"], { leaseMs: 5000 }));
    await t.publish([message("t", "m")]);
    const [mine] = await a.receive(1, 1000);
    // The lease runs out (as if this process had stalled) and another consumer takes the message.
    t.database.prepare("UPDATE missive_queue SET visible_at = 0").run();
    const [theirs] = await b.receive(1, 1000);
    expect(theirs!.attempt).toBe(2);
    await expect(mine!.ack()).rejects.toBeInstanceOf(LeaseLostError);
    await mine!.ack(); // settled (lost): a second settle is a no-op
    await expect(mine!.retry(0, {})).resolves.toBeUndefined();
    await theirs!.ack();
  });

  it("sqlite - release gives a message back at once, headers kept, its claim not counted as an attempt", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"]));
    await t.publish([message("t", "m1", "K"), message("t", "m2", "K")]);
    const [d] = await sub.receive(1, 1000);
    expect(d).toMatchObject({ attempt: 1 });
    await d!.release();
    await d!.release(); // settled: no-op
    const [again] = await sub.receive(1, 1000);
    expect(bodyOf(again!)).toBe("m1"); // still the key's head
    expect(again).toMatchObject({ attempt: 1 });
    expect({ ...again!.wire.headers }).toEqual({ "ce-id": "m1", "ce-type": "t" });
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

  it("sqlite - a temporary subscription removes its group and queued rows when it closes", async () => {
    const t = fx.open();
    const reply = await t.subscribe(subOptions("reply-1", ["reply.topic"], { temporary: true }));
    expect(await t.publish([message("reply.topic", "r1"), message("x", "r2", undefined, { group: "reply-1" })])).toEqual([undefined, undefined]);
    await reply.close();
    const count = (table: string): unknown => t.database.prepare(`SELECT COUNT(*) FROM missive_${table} WHERE group_name = 'reply-1'`).pluck().get();
    expect([count("queue"), count("bindings"), count("groups")]).toEqual([0, 0, 0]);
    const [res] = await t.publish([message("reply.topic", "r3")]);
    expect(res).toBeInstanceOf(UnroutableError);
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

  it("sqlite - durability: FULL has no warnings, NORMAL says what it can lose", async () => {
    const full = await fx.open().durability!();
    expect(full.settings).toMatchObject({ journal_mode: "wal", synchronous: "FULL" });
    expect(full.warnings).toEqual([]);
    expect(full.confirm).toMatch(/fsynced/);
    const normal = await fx.open({ path: `${fx.dir()}/normal.db`, synchronous: "NORMAL" }).durability!();
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
