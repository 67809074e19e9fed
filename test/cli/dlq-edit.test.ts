/** `missive dlq edit`: new data from --data, --file or $EDITOR, validated against a contracts module before it is replayed. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeContractsModule } from "../fixtures/cli-contracts.js";
import { cli, count, deadLetters, ensureBuilt, expectCleanError, insertDeadLetter, query, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let contracts: string;
let n = 0;
beforeAll(() => {
  ensureBuilt();
  tmp = tempDir("cli-dlq-edit");
  contracts = writeContractsModule(tmp.dir);
});
afterAll(() => tmp.cleanup());

async function fixture(): Promise<{ path: string; url: string; ids: string[] }> {
  const path = join(tmp.dir, `e${n++}.db`);
  const ids = await deadLetters(path, "billing", 2);
  return { path, url: urlOf(path), ids };
}

const queuedBodies = (path: string): Array<{ message_id: string; data: unknown }> =>
  query<{ message_id: string; body: Buffer }>(path, "SELECT message_id, body FROM missive_queue ORDER BY seq").map((r) => ({ message_id: r.message_id, data: JSON.parse(r.body.toString()) as unknown }));

describe("cli - dlq edit", () => {
  it("cli - dlq edit --data with --contracts: validated, replayed with the same message id, entry gone", async () => {
    const f = await fixture();
    const r = await cli(["dlq", "edit", "1", "--data", '{"orderId":"fixed","totalCents":42}', "--contracts", contracts, "--url", f.url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`replayed dead letter 1 with new data (message id ${f.ids[0]})`);
    expect(queuedBodies(f.path)).toEqual([{ message_id: f.ids[0], data: { orderId: "fixed", totalCents: 42 } }]);
    expect(count(f.path, "missive_dead_letters")).toBe(1);
    // MISSIVE_CONTRACTS instead of the flag, and --json.
    const j = await cli(["dlq", "edit", "2", "--json", "--data", '{"orderId":"b","totalCents":1}', "--url", f.url], { env: { MISSIVE_CONTRACTS: contracts } });
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({ entryId: "2", messageId: f.ids[1], replayed: true });
  });

  it("cli - dlq edit refused by its contract: the schema issues, exit 1, the entry stays in the store", async () => {
    const f = await fixture();
    const r = await cli(["dlq", "edit", "1", "--data", '{"orderId":5}', "--contracts", contracts, "--url", f.url]);
    expect(r.code).toBe(1);
    expectCleanError(r.stderr);
    expect(r.stderr).toContain("[MISSIVE_SCHEMA]");
    expect(r.stderr).toMatch(/\n {2}- orderId: .+\n/);
    expect(r.stderr).toMatch(/\n {2}- totalCents: .+\n/);
    expect(count(f.path, "missive_dead_letters")).toBe(2);
    expect(count(f.path, "missive_queue")).toBe(0);
  });

  it("cli - dlq edit without a contract: exit 2 saying so, unless --no-validate (then replayed as given)", async () => {
    const f = await fixture();
    const r = await cli(["dlq", "edit", "1", "--data", '{"anything":true}', "--url", f.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no contract to validate the edited cli.order.placed against: pass --contracts <module> (or set MISSIVE_CONTRACTS), or --no-validate");
    expect(count(f.path, "missive_dead_letters")).toBe(2);
    const unchecked = await cli(["dlq", "edit", "1", "--data", '{"anything":true}', "--no-validate", "--url", f.url]);
    expect(unchecked.code).toBe(0);
    expect(unchecked.stdout).toContain("not validated");
    expect(queuedBodies(f.path)).toEqual([{ message_id: f.ids[0], data: { anything: true } }]);
  });

  it("cli - dlq edit with a hand-written Standard Schema contract (a bare {type, version, schema} export)", async () => {
    const f = await fixture();
    const id = insertDeadLetter(f.path, {
      group: "billing", topic: "cli.ping", messageId: "ping-1",
      headers: JSON.stringify({ "ce-id": "ping-1", "ce-source": "x", "ce-type": "cli.ping", "ce-specversion": "1.0", "content-type": "application/json", "missive-error-code": "MISSIVE_SCHEMA" }),
      body: Buffer.from('{"n":"one"}'),
    });
    const bad = await cli(["dlq", "edit", id, "--data", '{"n":"two"}', "--contracts", contracts, "--url", f.url]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("  - n: n must be a number");
    const good = await cli(["dlq", "edit", id, "--data", '{"n":2}', "--contracts", contracts, "--url", f.url]);
    expect(good.code).toBe(0);
    expect(queuedBodies(f.path)).toEqual([{ message_id: "ping-1", data: { n: 2 } }]);
  });

  it("cli - dlq edit --file, and bad input: bad JSON, __proto__ keys, unreadable file, both flags, bad contracts modules: exit 2", async () => {
    const f = await fixture();
    const file = join(tmp.dir, "new-data.json");
    writeFileSync(file, '{ "orderId": "from-file", "totalCents": 7 }\n');
    const ok = await cli(["dlq", "edit", "2", "--file", file, "--contracts", contracts, "--url", f.url]);
    expect(ok.code).toBe(0);
    expect(queuedBodies(f.path)).toEqual([{ message_id: f.ids[1], data: { orderId: "from-file", totalCents: 7 } }]);

    const throwing = join(tmp.dir, "throwing.mjs");
    writeFileSync(throwing, 'throw new Error("boom at import");\n');
    const empty = join(tmp.dir, "empty.mjs");
    writeFileSync(empty, "export const notAContract = { type: 'x' };\n");
    const cases: Array<[string[], string]> = [
      [["--data", "{not json"], "--data is not valid JSON"],
      [["--data", '{"__proto__":{"admin":true}}'], "__proto__"],
      [["--file", join(tmp.dir, "missing.json")], "cannot be read: ENOENT"],
      [["--data", "{}", "--file", file], "not both"],
      [["--data", "{}", "--contracts", join(tmp.dir, "nope.mjs")], "does not exist"],
      [["--data", "{}", "--contracts", throwing], "could not be loaded: boom at import"],
      [["--data", "{}", "--contracts", empty], "exports no message definitions"],
    ];
    for (const [args, message] of cases) {
      const r = await cli(["dlq", "edit", "1", ...args, ...(args.includes("--contracts") ? [] : ["--contracts", contracts]), "--url", f.url]);
      expect(r.code, args.join(" ")).toBe(2);
      expectCleanError(r.stderr);
      expect(r.stderr).toContain(message);
    }
    expect(count(f.path, "missive_dead_letters", "entry_id = 1")).toBe(1);
  });

  it("cli - dlq edit in $EDITOR: the temp file holds the current data; the saved data is replayed; unchanged or a failing editor: exit 5", async () => {
    const f = await fixture();
    const seen = join(tmp.dir, "seen.json");
    const editor = join(tmp.dir, "editor.mjs");
    writeFileSync(editor, `import { readFileSync, writeFileSync } from "node:fs";
const file = process.argv[2];
writeFileSync(${JSON.stringify(seen)}, readFileSync(file));
writeFileSync(file, JSON.stringify({ orderId: "edited", totalCents: 9 }));
`);
    const r = await cli(["dlq", "edit", "1", "--contracts", contracts, "--url", f.url], { env: { EDITOR: `${JSON.stringify(process.execPath)} ${JSON.stringify(editor)}` } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(seen, "utf8"))).toEqual({ orderId: "billing-0", totalCents: 100 });
    expect(queuedBodies(f.path)).toEqual([{ message_id: f.ids[0], data: { orderId: "edited", totalCents: 9 } }]);

    for (const [ed, message] of [["true", "the data was not changed"], ["false", "exited with status 1"]] as const) {
      const x = await cli(["dlq", "edit", "2", "--contracts", contracts, "--url", f.url], { env: { EDITOR: ed } });
      expect(x.code, ed).toBe(5);
      expect(x.stderr).toContain(message);
    }
    const noEditor = await cli(["dlq", "edit", "2", "--contracts", contracts, "--url", f.url]);
    expect(noEditor.code).toBe(2);
    expect(noEditor.stderr).toContain("$EDITOR");
    expect(count(f.path, "missive_dead_letters")).toBe(1);
  });

  it("cli - dlq edit of an unknown entry id: exit 4, before any contract is needed", async () => {
    const f = await fixture();
    const r = await cli(["dlq", "edit", "999", "--data", "{}", "--url", f.url]);
    expect(r.code).toBe(4);
    expectCleanError(r.stderr);
    // A structured-mode entry with an unreadable body: the edit has no envelope to go into (exit 1, entry kept).
    const db = new Database(f.path);
    db.prepare("UPDATE missive_dead_letters SET headers = ?, body = ? WHERE entry_id = 1").run(JSON.stringify({ "content-type": "application/cloudevents+json" }), Buffer.from("{broken"));
    db.close();
    const broken = await cli(["dlq", "edit", "1", "--data", "{}", "--no-validate", "--url", f.url]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain("[MISSIVE_DECODE]");
    expect(count(f.path, "missive_dead_letters")).toBe(2);
  });
});
