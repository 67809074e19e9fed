/**
 * Failure groups on SQLite from the store's failure-group index
 * (src/transports/sqlite/failure-signatures.ts): the same groups as reading
 * every entry, kept right through replays, discards and a plain client's
 * deletes and inserts; and at 1,000,000 entries a page and a group summary each under
 * 300 ms (the figures are printed: the bench of record is the report's).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { failureGroups } from "../../src/dashboard/failure-groups.js";
import { selectorOf } from "../../src/dashboard/selection.js";
import { missive, PermanentError, type Bus } from "../../src/index.js";
import { deadLetterAdmin } from "../../src/runtime/dead-letter-admin.js";
import { DiagnosticHeaders } from "../../src/transport/diagnostic-prefix.js";
import { sqliteTransport, type SqliteTransport } from "../../src/transports/sqlite/index.js";
import { waitFor } from "../support/wait.js";
import { Order } from "./support/scenario.js";
import { serveDashboard } from "./support/server.js";

let dir: string | undefined;
const closing: (Bus | SqliteTransport)[] = [];
afterEach(async () => {
  for (const c of closing.splice(0)) await c.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** What a group looks like without the fields that depend on when it was read. */
const shape = (g: { key: string; count: number; firstSeen: number; lastSeen: number; example: string; groups: readonly string[] }) => ({ key: g.key, count: g.count, firstSeen: g.firstSeen, lastSeen: g.lastSeen, example: g.example, groups: g.groups });

describe("dashboard failure-group index (sqlite)", () => {
  it("dashboard failure groups (sqlite) - the index gives the groups reading every entry gives, through replays, discards and a plain client's delete", async () => {
    dir = mkdtempSync(join(tmpdir(), "missive-dl-index-"));
    const path = join(dir, "m.db");
    const bus = await missive({ service: "index", transport: sqliteTransport({ path }), reportInterval: false });
    closing.push(bus);
    await bus.consume(Order, { group: "billing" }, (o) => {
      throw new PermanentError(o.orderId.startsWith("s-") ? `sku ${o.orderId} out of stock` : `order ${o.orderId} rejected`);
    }).ready;
    for (let i = 0; i < 12; i++) await bus.publish(Order, { orderId: i % 3 === 0 ? `s-${i}` : `o-${i}` });
    const admin = bus.deadLetters();
    await waitFor(async () => (await admin.count()) === 12, 20_000, "12 dead letters");

    // Indexed as they were dead-lettered, before anyone asked for groups.
    const peek = new Database(path, { readonly: true });
    expect(peek.prepare("SELECT COUNT(*) FROM missive_dead_letter_signatures").pluck().get()).toBe(12);
    peek.close();
    const indexed = await failureGroups(admin, selectorOf(new URLSearchParams()));
    // A time filter is not in the index: these are read entry by entry.
    const read = await failureGroups(admin, selectorOf(new URLSearchParams({ since: "0" })));
    expect(indexed.groups.map(shape)).toEqual(read.groups.map(shape));
    expect(indexed.groups.map((g) => [g.pattern, g.count, g.recent["5m"]])).toEqual([["order <id> rejected", 8, 8], ["sku <id> out of stock", 4, 4]]);
    expect(indexed.truncated).toBe(false);
    const byType = await failureGroups(admin, selectorOf(new URLSearchParams({ type: Order.type, group: "billing" })));
    expect(byType.groups.map(shape)).toEqual(indexed.groups.map(shape));
    expect((await failureGroups(admin, selectorOf(new URLSearchParams({ group: "nobody" })))).groups).toEqual([]);
    // A group's own entries from the index: the ones a scan of every entry finds, oldest first, paged.
    const rejected = indexed.groups[0]!;
    const all = (await admin.list({ limit: 100 })).filter((e) => e.diagnostics.errorMessage?.startsWith("order")).map((e) => e.entryId);
    const first = await admin.indexedEntriesOf(rejected.key, { limit: 5 });
    const rest = await admin.indexedEntriesOf(rejected.key, { limit: 5, after: first!.at(-1)!.entryId });
    expect([...first!, ...rest!].map((e) => e.entryId)).toEqual(all);
    expect(await admin.indexedEntriesOf(rejected.key, { limit: 5, group: "nobody" })).toEqual([]);

    const skus = await admin.list({ limit: 100 });
    const sku = skus.filter((e) => e.diagnostics.errorMessage?.startsWith("sku")).map((e) => e.entryId);
    expect(await admin.discard(sku.slice(0, 2))).toBe(2);
    const plain = new Database(path);
    plain.prepare("DELETE FROM missive_dead_letters WHERE entry_id = ?").run(Number(sku[2]));
    plain.close();
    const after = await failureGroups(admin, selectorOf(new URLSearchParams()));
    expect(after.groups.map(shape)).toEqual((await failureGroups(admin, selectorOf(new URLSearchParams({ since: "0" })))).groups.map(shape));
    expect(after.groups.map((g) => g.count)).toEqual([8, 1]);
    expect(after.groups[1]!.lastSeen).toBe(skus.find((e) => e.entryId === sku[3])!.deadLetteredAt);

    // A plain client's insert is indexed by the next reader, and a later dead letter after it too.
    const writer = new Database(path);
    const copy = writer.prepare("SELECT group_name, topic, message_id, key, headers, body FROM missive_dead_letters WHERE entry_id = ?").get(Number(sku[3])) as Record<string, unknown>;
    writer.prepare("INSERT INTO missive_dead_letters (group_name, topic, message_id, key, headers, body, dead_lettered_at) VALUES (@group_name, @topic, 'plain-1', @key, @headers, @body, 1)").run(copy);
    writer.close();
    await bus.publish(Order, { orderId: "s-99" });
    await waitFor(async () => (await admin.count()) === 11, 20_000, "the 11th dead letter");
    const withPlain = await failureGroups(admin, selectorOf(new URLSearchParams()));
    expect(withPlain.groups.map((g) => g.count)).toEqual([8, 3]);
    expect(withPlain.groups[1]!.firstSeen).toBe(1);
  });

  it("dashboard failure groups (sqlite) - 1,000,000 entries: a page and a group summary each in under 300 ms", async () => {
    dir = mkdtempSync(join(tmpdir(), "missive-dl-million-"));
    const path = join(dir, "m.db");
    const transport = sqliteTransport({ path });
    closing.push(transport);
    await transport.connect();
    const now = Date.now();
    const built = performance.now();
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = OFF");
    const insert = db.prepare("INSERT INTO missive_dead_letters (group_name, topic, message_id, key, headers, body, attempts, dead_lettered_at) VALUES (?, ?, ?, ?, ?, ?, 5, ?)");
    const body = Buffer.from(JSON.stringify({ orderId: "o-1", totalCents: 1500 }));
    const messages = ["order o-%d rejected", "sku S-%d out of stock", "timeout after %dms calling payments", "card %d declined", "address 'x%d' invalid", "inventory service returned 503 for item %d", "customer c-%d is blocked", "duplicate order ORD-%d"];
    db.transaction(() => {
      for (let i = 0; i < 1_000_000; i++) {
        const headers = JSON.stringify({
          "ce-id": `id-${i}`, "ce-type": i % 2 === 0 ? "order.created" : "order.paid",
          [DiagnosticHeaders.errorClass]: i % 5 === 0 ? "TransientError" : "PermanentError",
          [DiagnosticHeaders.errorCode]: i % 5 === 0 ? "MISSIVE_TRANSIENT" : "MISSIVE_PERMANENT",
          [DiagnosticHeaders.errorMessage]: messages[i % messages.length]!.replace("%d", String(i)),
          [DiagnosticHeaders.attempts]: "5",
        });
        // A week of dead letters, the newest thousand in the last five minutes.
        const at = i >= 999_000 ? now - (1_000_000 - i) * 200 : now - 7 * 86_400_000 + i * 600;
        insert.run(`group-${i % 3}`, i % 2 === 0 ? "order.created" : "order.paid", `m-${i}`, `k-${i % 5000}`, headers, body, at);
      }
    })();
    db.close();
    const buildMs = performance.now() - built;

    const admin = deadLetterAdmin(transport);
    const timed = async <T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> => {
      const t0 = performance.now();
      const value = await run();
      return { ms: performance.now() - t0, value };
    };
    // The first look indexes the backlog once (a store written before the index existed).
    const first = await timed(() => failureGroups(admin, selectorOf(new URLSearchParams())));
    const summaries = [];
    for (let i = 0; i < 3; i++) summaries.push(await timed(() => failureGroups(admin, selectorOf(new URLSearchParams()))));
    const pages = [];
    for (let i = 0; i < 3; i++) pages.push(await timed(() => admin.list({ limit: 50, after: String(500_000 + i * 1000) })));
    const groupPages = [];
    for (let i = 0; i < 3; i++) groupPages.push(await timed(() => admin.list({ limit: 50, group: "group-1", topic: "order.paid", after: String(700_000 + i * 1000) })));
    // End to end, through the dashboard's API: the groups, then a page of the 25,000 entries of one group.
    const server = await serveDashboard({ transport });
    const api = async (path: string): Promise<{ ms: number; value: Record<string, unknown> }> => timed(async () => (await (await fetch(`${server.url}${path}`)).json()) as Record<string, unknown>);
    const apiGroups = [];
    const apiGroupPages = [];
    try {
      for (let i = 0; i < 3; i++) apiGroups.push(await api("api/groups"));
      const transient = (apiGroups[0]!.value["groups"] as { key: string; pattern: string; errorClass: string }[]).find((g) => g.pattern === "order <id> rejected" && g.errorClass === "TransientError")!;
      for (let i = 0; i < 3; i++) apiGroupPages.push(await api(`api/dead-letters?limit=50&signature=${encodeURIComponent(transient.key)}&after=${600_000 + i * 1000}`));
    } finally {
      await server.close();
    }
    const best = (runs: { ms: number }[]): number => Math.round(Math.min(...runs.map((r) => r.ms)));
    const figures = {
      entries: 1_000_000, buildMs: Math.round(buildMs), firstSummaryWithIndexingMs: Math.round(first.ms),
      summaryMs: best(summaries), pageMs: best(pages), filteredPageMs: best(groupPages),
      apiGroupsMs: best(apiGroups), apiFailureGroupPageMs: best(apiGroupPages), rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
    process.stdout.write(`dead-letter store at 1,000,000 entries: ${JSON.stringify(figures)}\n`);

    const summary = summaries[0]!.value;
    expect(summary.truncated).toBe(false);
    expect(summary.groups.reduce((n, g) => n + g.count, 0)).toBe(1_000_000);
    const rejected = summary.groups.filter((g) => g.pattern === "order <id> rejected");
    // Every 8th entry, split by error class (every 5th is transient): 100,000 and 25,000.
    expect(rejected.map((g) => [g.errorClass, g.count, g.groups])).toEqual([["PermanentError", 100_000, ["group-0", "group-1", "group-2"]], ["TransientError", 25_000, ["group-0", "group-1", "group-2"]]]);
    expect(summary.groups.reduce((n, g) => n + g.recent["5m"], 0)).toBe(1000);
    expect(pages[0]!.value).toHaveLength(50);
    expect(groupPages[0]!.value).toHaveLength(50);
    expect(figures.summaryMs).toBeLessThan(300);
    expect(figures.pageMs).toBeLessThan(300);
    expect(figures.filteredPageMs).toBeLessThan(300);
    expect((apiGroupPages[0]!.value["entries"] as unknown[]).length).toBe(50);
    expect(figures.apiGroupsMs).toBeLessThan(300);
    expect(figures.apiFailureGroupPageMs).toBeLessThan(300);
  }, 600_000);
});
