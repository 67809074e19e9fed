/** `missive dlq ls|show|summary` against a real SQLite file, hostile entries included. */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, deadLetters, ensureBuilt, expectCleanError, expectNoRawControls, insertDeadLetter, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let path: string;
let url: string;
let billingIds: string[];
let hostileEntry: string;
let binaryEntry: string;
let oldEntry: string;

const ESC = "\u001b";
// Valid JSON whose strings decode to escape sequences (\\u001b in the text), plus raw bidi and C1 characters.
const HOSTILE_BODY = `{"note":"\\u001b]0;pwned\\u0007\\u001b[2J\\u001b[31mred","__proto__":{"admin":true},"bidi":"\u202eevil","c1":"\u009b31m"}`;

interface ListJson { entries: Array<Record<string, unknown>>; next: string | null }


beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-dlq-read");
  path = join(tmp.dir, "d.db");
  url = urlOf(path);
  billingIds = await deadLetters(path, "billing", 3, "card declined");
  await deadLetters(path, "refunds", 2, "no such order");
  hostileEntry = insertDeadLetter(path, {
    group: "billing",
    topic: `evil${ESC}[31m.type`,
    messageId: `id-${ESC}[2J`,
    key: "k\r\nInjected: yes",
    // A literal "__proto__" key in JSON text (an object literal would set the prototype instead).
    headers: `{"__proto__":"header-proto",${JSON.stringify({
      "ce-id": `id-${ESC}[2J`, "ce-type": "evil", "ce-source": "attacker", "ce-specversion": "1.0", "content-type": "application/json",
      "x-evil": `${ESC}]52;c;Y3VybCBldmlsIHwgc2g=${"\u0007"}`, "missive-error-code": `MISSIVE_${ESC}[5mDECODE`,
      "missive-error-class": "DecodeError", "missive-error-message": `bad ${ESC}[31mthing\u009b`, "missive-error-stack": "DecodeError: bad | at x (y.js:1:1)",
      "missive-reason": "poison", "missive-attempts": "1",
    }).slice(1)}`,
    body: Buffer.from(HOSTILE_BODY),
  });
  binaryEntry = insertDeadLetter(path, {
    group: "billing", topic: "bin.type", messageId: "bin-1", headers: JSON.stringify({ "ce-id": "bin-1", "content-type": "application/octet-stream" }),
    body: Buffer.from([0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x00, 0x9b]),
  });
  oldEntry = insertDeadLetter(path, {
    group: "archive", topic: "old.type", messageId: "old-1", headers: "not json at all", body: Buffer.from("plain text\u001b[2J body"), at: Date.parse("2020-01-01T00:00:00Z"),
  });
});
afterAll(() => tmp.cleanup());

describe("cli - dlq ls", () => {
  it("cli - dlq ls: a table of every entry with id, time, group, type, error, attempts, message id, message", async () => {
    const r = await cli(["dlq", "ls", "--url", url]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expectNoRawControls(r.stdout);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ENTRY\s+DEAD-LETTERED AT\s+GROUP\s+TYPE\s+ERROR\s+ATTEMPTS\s+MESSAGE ID\s+MESSAGE$/);
    expect(lines).toHaveLength(1 + 8);
    const first = lines[1]!.split(/\s{2,}/);
    expect(first[0]).toBe("1");
    expect(first[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(first.slice(2)).toEqual(["billing", "cli.order.placed", "MISSIVE_PERMANENT", "1", billingIds[0], "card declined"]);
    expect(r.stdout).toContain("evil\\x1b[31m.type");
  });

  it("cli - dlq ls: filters by group, type, error code, error class, message id, since/until (ISO and relative)", async () => {
    const ids = async (...args: string[]): Promise<string[]> => {
      const r = await cli(["dlq", "ls", "--json", "--url", url, ...args]);
      expect(r.code, args.join(" ")).toBe(0);
      return (JSON.parse(r.stdout) as ListJson).entries.map((e) => e["entryId"] as string);
    };
    expect(await ids("--group", "refunds")).toEqual(["4", "5"]);
    expect(await ids("--type", "bin.type")).toEqual([binaryEntry]);
    expect(await ids("--error", "MISSIVE_PERMANENT", "--group", "billing")).toEqual(["1", "2", "3"]);
    expect(await ids("--error", "DecodeError")).toEqual([hostileEntry]);
    expect(await ids("--id", billingIds[1]!)).toEqual(["2"]);
    expect(await ids("--until", "2021-01-01")).toEqual([oldEntry]);
    expect(await ids("--since", "2021-01-01T00:00:00Z", "--group", "archive")).toEqual([]);
    expect((await ids("--since", "1h")).length).toBe(7);
    expect(await ids("--until", "7d")).toEqual([oldEntry]);
  });

  it("cli - dlq ls --limit pages with --after; a full page prints the next --after hint", async () => {
    const a = await cli(["dlq", "ls", "--limit", "3", "--url", url]);
    expect(a.code).toBe(0);
    expect(a.stdout.trim().split("\n")).toHaveLength(4);
    expect(a.stderr).toContain("--after 3");
    const j = JSON.parse((await cli(["dlq", "ls", "--json", "--limit", "3", "--after", "3", "--url", url])).stdout) as ListJson;
    expect(j.entries.map((e) => e["entryId"])).toEqual(["4", "5", hostileEntry]);
    expect(j.next).toBe(hostileEntry);
    const last = JSON.parse((await cli(["dlq", "ls", "--json", "--limit", "2", "--after", hostileEntry, "--url", url])).stdout) as ListJson;
    expect(last.entries.map((e) => e["entryId"])).toEqual([binaryEntry, oldEntry]);
    expect(last.next).toBeNull(); // exactly full, and nothing after: no promise of more
    const none = await cli(["dlq", "ls", "--after", "999", "--url", url]);
    expect(none.stdout.trim()).toBe("no more dead letters");
    expect(none.stderr).toBe("");
  });

  it("cli - dlq ls --json: the documented entry shape", async () => {
    const r = await cli(["dlq", "ls", "--json", "--limit", "1", "--url", url]);
    const doc = JSON.parse(r.stdout) as ListJson;
    expect(Object.keys(doc.entries[0]!).sort()).toEqual(["attempts", "deadLetteredAt", "entryId", "errorClass", "errorCode", "errorMessage", "group", "key", "messageId", "reason", "type"]);
    expect(doc.entries[0]).toMatchObject({ entryId: "1", messageId: billingIds[0], group: "billing", type: "cli.order.placed", key: "billing-0", errorCode: "MISSIVE_PERMANENT", errorClass: "PermanentError", errorMessage: "card declined", reason: "permanent", attempts: 1 });
    expect(doc.next).toBe("1");
  });

  it("cli - dlq ls errors: bad --since, bad --limit, missing file: exit 2 with one line", async () => {
    for (const args of [["--since", "yesterday"], ["--until", "5 minutes"], ["--limit", "-3"], ["--limit", "100001"], ["--since", "2021-13-45"]]) {
      const r = await cli(["dlq", "ls", "--url", url, ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expectCleanError(r.stderr);
    }
    const missing = await cli(["dlq", "ls", "--url", urlOf(join(tmp.dir, "nope.db"))]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("MISSIVE_CONFIG");
  });
});

describe("cli - dlq show", () => {
  it("cli - dlq show: ids, diagnostics, original headers without missive-*, pretty JSON body", async () => {
    const r = await cli(["dlq", "show", "2", "--url", url]);
    expect(r.code).toBe(0);
    for (const want of [
      "entry:            2", `message id:       ${billingIds[1]}`, "type:             cli.order.placed", "group:            billing", "key:              billing-1",
      "  class:          PermanentError", "  code:           MISSIVE_PERMANENT", "  message:        card declined", "  reason:         permanent", "  attempts:       1",
      "  source:         cli.order.placed", "  version:        ", "  stack:", "    PermanentError: card declined", "headers:", `  ce-id: ${billingIds[1]}`, "  ce-source: cli-test",
      "body (json, ", '    "orderId": "billing-1",', '    "totalCents": 101',
    ]) expect(r.stdout).toContain(want);
    expect(r.stdout).toMatch(/ {2}first failure: {2}\d{4}-/);
    expect(r.stdout).not.toMatch(/^ {2}missive-/m);
  });

  it("cli - dlq show --json: the documented shape, diagnostics and body as data", async () => {
    const r = await cli(["dlq", "show", "4", "--json", "--url", url]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown> & { diagnostics: Record<string, unknown>; headers: Record<string, string>; body: Record<string, unknown> };
    expect(doc).toMatchObject({ entryId: "4", group: "refunds", type: "cli.order.placed", key: "refunds-0" });
    expect(doc.diagnostics).toMatchObject({ errorClass: "PermanentError", errorCode: "MISSIVE_PERMANENT", errorMessage: "no such order", reason: "permanent", attempts: 1, group: "refunds", source: "cli.order.placed" });
    for (const k of ["firstFailureAt", "lastFailureAt"]) expect(Date.parse(doc.diagnostics[k] as string)).toBeGreaterThan(0);
    expect(doc.diagnostics["errorStack"]).toContain("PermanentError");
    expect(Object.keys(doc.headers).some((h) => h.startsWith("missive-"))).toBe(false);
    expect(doc.headers["ce-type"]).toBe("cli.order.placed");
    expect(doc.body).toEqual({ encoding: "json", bytes: expect.any(Number) as number, json: { orderId: "refunds-0", totalCents: 100 } });
  });

  it("cli - dlq show on hostile data: escape sequences, control characters and bidi overrides never reach the terminal raw; __proto__ is just a key", async () => {
    const r = await cli(["dlq", "show", hostileEntry, "--url", url]);
    expect(r.code).toBe(0);
    expectNoRawControls(r.stdout);
    expect(r.stdout).toContain("evil\\x1b[31m.type");
    expect(r.stdout).toContain("key:              k\\r\\nInjected: yes");
    expect(r.stdout).toContain("  x-evil: \\x1b]52;c;Y3VybCBldmlsIHwgc2g=\\x07");
    expect(r.stdout).toContain("  __proto__: header-proto");
    expect(r.stdout).toContain("  code:           MISSIVE_\\x1b[5mDECODE");
    expect(r.stdout).toContain('"__proto__": {');
    expect(r.stdout).toContain("\\u202eevil");

    const j = await cli(["dlq", "show", hostileEntry, "--json", "--url", url]);
    expect(j.code).toBe(0);
    expectNoRawControls(j.stdout);
    const doc = JSON.parse(j.stdout) as { type: string; headers: Record<string, string>; body: { json: Record<string, unknown> } };
    expect(doc.type).toBe(`evil${ESC}[31m.type`); // the same data, escaped only on the wire
    expect(Object.prototype.hasOwnProperty.call(doc.headers, "__proto__")).toBe(true);
    expect(doc.body.json["bidi"]).toBe("\u202eevil");
    expect(doc.body.json["note"]).toBe(`${ESC}]0;pwned\u0007${ESC}[2J${ESC}[31mred`);
    expect(({} as Record<string, unknown>)["admin"]).toBeUndefined();

    const bin = await cli(["dlq", "show", binaryEntry, "--url", url]);
    expect(bin.stdout).toContain("body (base64, 8 bytes):");
    expect(bin.stdout).toContain(Buffer.from([0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x00, 0x9b]).toString("base64"));
    expect(JSON.parse((await cli(["dlq", "show", binaryEntry, "--json", "--url", url])).stdout)).toMatchObject({ body: { encoding: "base64", bytes: 8 } });

    const text = await cli(["dlq", "show", oldEntry, "--url", url]);
    expect(text.code).toBe(0);
    expectNoRawControls(text.stdout);
    expect(text.stdout).toContain("body (utf8, ");
    expect(text.stdout).toContain("plain text\\x1b[2J body");
  });

  it("cli - dlq show: an unknown entry id exits 4; hostile ids are not echoed raw", async () => {
    for (const id of ["999999", "nope", "__proto__", "1; DROP TABLE x", `${ESC}[2J`]) {
      const r = await cli(["dlq", "show", id, "--url", url]);
      expect(r.code, id).toBe(4);
      expectCleanError(r.stderr);
      expect(r.stderr).toContain("no dead letter with entry id");
      expectNoRawControls(r.stderr);
    }
  });
});

describe("cli - dlq summary", () => {
  it("cli - dlq summary: type × error code × class with counts and first/last seen; --json; filters", async () => {
    const r = await cli(["dlq", "summary", "--url", url]);
    expect(r.code).toBe(0);
    expectNoRawControls(r.stdout);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^TYPE\s+ERROR CODE\s+ERROR CLASS\s+COUNT\s+FIRST SEEN\s+LAST SEEN$/);
    expect(lines[1]!.split(/\s{2,}/).slice(0, 4)).toEqual(["cli.order.placed", "MISSIVE_PERMANENT", "PermanentError", "5"]);
    const j = JSON.parse((await cli(["dlq", "summary", "--json", "--url", url])).stdout) as { summary: Array<Record<string, unknown>> };
    expect(j.summary[0]).toMatchObject({ type: "cli.order.placed", errorCode: "MISSIVE_PERMANENT", errorClass: "PermanentError", count: 5 });
    expect(Date.parse(j.summary[0]!["firstDeadLetteredAt"] as string)).toBeLessThanOrEqual(Date.parse(j.summary[0]!["lastDeadLetteredAt"] as string));
    expect(j.summary.reduce((n, row) => n + (row["count"] as number), 0)).toBe(8);
    const old = j.summary.find((row) => row["type"] === "old.type")!;
    expect(old).toMatchObject({ errorCode: null, errorClass: null, count: 1, firstDeadLetteredAt: "2020-01-01T00:00:00.000Z" });
    const filtered = JSON.parse((await cli(["dlq", "summary", "--json", "--group", "refunds", "--url", url])).stdout) as { summary: unknown[] };
    expect(filtered.summary).toHaveLength(1);
    // A known type with nothing matching is an empty answer; an unknown type is an error (dlq-unknown-names.test.ts).
    const none = await cli(["dlq", "summary", "--type", "cli.order.placed", "--since", "1s", "--until", "1s", "--url", url]);
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe("no dead letters match");
  });
});
