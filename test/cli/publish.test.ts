/** `missive publish`: with a contracts module (validated) or without (as given), and its errors. */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isUuidV7 } from "../../src/index.js";
import { writeContractsModule } from "../fixtures/cli-contracts.js";
import { cli, count, declared, ensureBuilt, expectCleanError, query, tempDir, urlOf } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
let contracts: string;
let path: string;
let url: string;
beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-publish");
  contracts = writeContractsModule(tmp.dir);
  path = join(tmp.dir, "p.db");
  url = urlOf(path);
  await declared(path, "billing");
});
afterAll(() => tmp.cleanup());

interface Row { message_id: string; key: string | null; headers: string; body: Buffer }
const row = (id: string): Row & { h: Record<string, string> } => {
  const r = query<Row>(path, "SELECT message_id, key, headers, body FROM missive_queue WHERE message_id = ?", id)[0]!;
  return { ...r, h: JSON.parse(r.headers) as Record<string, string> };
};

describe("cli - publish", () => {
  it("cli - publish with a contracts module: validated, the contract's key, the message id printed", async () => {
    const r = await cli(["publish", "cli.order.placed", '{"orderId":"o-1","totalCents":1500}', "--contracts", contracts, "--url", url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(isUuidV7(id)).toBe(true);
    const stored = row(id);
    expect(stored.key).toBe("o-1");
    expect(stored.h["ce-source"]).toBe("missive-cli");
    expect(stored.h["ce-dataschema"]).toBe("cli.order.placed/v1");
    expect(JSON.parse(stored.body.toString())).toEqual({ orderId: "o-1", totalCents: 1500 });
  });

  it("cli - publish refused by its contract: the issues, exit 1, nothing sent", async () => {
    const before = count(path, "missive_queue");
    const r = await cli(["publish", "cli.order.placed", '{"orderId":1}', "--url", url], { env: { MISSIVE_CONTRACTS: contracts } });
    expect(r.code).toBe(1);
    expectCleanError(r.stderr);
    expect(r.stderr).toContain("[MISSIVE_SCHEMA]");
    expect(r.stderr).toMatch(/\n {2}- orderId: /);
    expect(count(path, "missive_queue")).toBe(before);
    const noContract = await cli(["publish", "cli.unknown", "{}", "--contracts", contracts, "--url", url]);
    expect(noContract.code).toBe(2);
    expect(noContract.stderr).toContain('has no contract for "cli.unknown"');
  });

  it("cli - publish without a contract: as given, with --key, --id, --source, --data-version, --json", async () => {
    const r = await cli(["publish", "cli.order.placed", '{"anything":[1,2]}', "--key", "k-9", "--id", "my-id-1", "--source", "ops", "--data-version", "3", "--json", "--url", url]);
    expect(r.code).toBe(0);
    // Issue 15: confirmed, yet the operator is told nothing checked the data, and how to have it checked.
    expect(r.stderr).toBe("note: the data is NOT validated (no contracts module): it is published as given. To validate it against its contract, pass --contracts <module> (or set MISSIVE_CONTRACTS)\n");
    expect(JSON.parse(r.stdout)).toEqual({ id: "my-id-1", type: "cli.order.placed" });
    const stored = row("my-id-1");
    expect(stored.key).toBe("k-9");
    expect(stored.h["ce-source"]).toBe("ops");
    expect(stored.h["ce-dataschema"]).toBe("cli.order.placed/v3");
    expect(JSON.parse(stored.body.toString())).toEqual({ anything: [1, 2] });
    const help = await cli(["publish", "--help"]);
    expect(help.stdout).toContain("NOT validated");
  });

  it("cli - publish to a type nobody is bound to: exit 1 with a clear message, nothing stored", async () => {
    const before = count(path, "missive_queue");
    const r = await cli(["publish", "nobody.listens", "{}", "--url", url]);
    expect(r.code).toBe(1);
    expectCleanError(r.stderr);
    expect(r.stderr).toContain("nobody receives nobody.listens: no consumer group is bound to it, so nothing was published [MISSIVE_UNROUTABLE]");
    expect(count(path, "missive_queue")).toBe(before);
  });

  it("cli - publish usage errors: bad JSON, __proto__, a bad type name, missing arguments, missing file: exit 2", async () => {
    for (const args of [["cli.order.placed", "{oops"], ["cli.order.placed", '{"__proto__":{}}'], ["bad type!", "{}"], ["cli.order.placed"], ["cli.order.placed", "{}", "--data-version", "0"]]) {
      const r = await cli(["publish", ...args, "--url", url]);
      expect(r.code, args.join(" ")).toBe(2);
      expectCleanError(r.stderr);
    }
    const missing = await cli(["publish", "cli.order.placed", "{}", "--url", urlOf(join(tmp.dir, "nope.db"))]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no database file");
  });
});
