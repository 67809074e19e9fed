/** `missive tail`: follows a type or a group's topics through a temporary group of its own, which is gone afterwards. */
import { join } from "node:path";
import Database from "better-sqlite3";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineMessage } from "../../src/index.js";
import { waitFor } from "../support/wait.js";
import { cli, count, declared, ensureBuilt, expectCleanError, expectNoRawControls, openBus, Order, start, tempDir, urlOf } from "./helpers.js";

const Refund = defineMessage({ type: "cli.refund.issued", schema: z.object({ note: z.string() }) });

let tmp: ReturnType<typeof tempDir>;
let path: string;
let url: string;
beforeAll(async () => {
  ensureBuilt();
  tmp = tempDir("cli-tail");
  path = join(tmp.dir, "t.db");
  url = urlOf(path);
  await declared(path, "billing");
  const bus = await openBus(path);
  await bus.declare([Order, Refund], "ledger");
  await bus.close();
});
afterAll(() => tmp.cleanup());

const tailGroups = (): number => count(path, "missive_groups", "group_name LIKE 'missive.tail.%'");
const following = (stderr: () => string) => waitFor(() => stderr().includes("following"), 15_000, "tail to start");

describe("cli - tail", () => {
  it("cli - tail <type> --json --count 2: JSON lines of the next two messages, nobody's messages taken, the temporary group removed", async () => {
    const run = start(["tail", Order.type, "--json", "--count", "2", "--url", url]);
    await following(run.stderr);
    expect(tailGroups()).toBe(1);
    const bus = await openBus(path, "shop");
    const a = await bus.publish(Order, { orderId: "t-1", totalCents: 1 });
    const b = await bus.publish(Order, { orderId: "t-2", totalCents: 2 });
    await bus.close();
    const r = await run.finished;
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l["id"])).toEqual([a.id, b.id]);
    expect(lines[0]).toMatchObject({ type: Order.type, key: "t-1", source: "shop", dataschema: `${Order.type}/v1`, data: { orderId: "t-1", totalCents: 1 } });
    expect(Number.isFinite(Date.parse(lines[0]!["time"] as string))).toBe(true);
    expect(tailGroups()).toBe(0);
    expect(count(path, "missive_bindings", "group_name LIKE 'missive.tail.%'")).toBe(0);
    // billing still has both: tail took copies, not its messages.
    expect(count(path, "missive_queue", "group_name = 'billing'")).toBeGreaterThanOrEqual(2);
  });

  it("cli - tail <group>: every topic the group is bound to, one safe line per message", async () => {
    const run = start(["tail", "ledger", "--count", "2", "--url", url]);
    await following(run.stderr);
    expect(run.stderr()).toContain(`following ${Order.type}, ${Refund.type}`);
    const bus = await openBus(path);
    const a = await bus.publish(Order, { orderId: "g-1", totalCents: 5 });
    const b = await bus.publish(Refund, { note: "\u001b]0;owned\u0007\u001b[2Jsorry\u202e" });
    await bus.close();
    const r = await run.finished;
    expect(r.code).toBe(0);
    expectNoRawControls(r.stdout);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^\\d{4}-\\S+Z {2}${Order.type.replace(/\./g, "\\.")} {2}${a.id} {2}g-1 {2}\\{"orderId":"g-1","totalCents":5\\}$`));
    expect(lines[1]).toContain(`${Refund.type}  ${b.id}  -  {"note":"\\u001b]0;owned\\u0007\\u001b[2Jsorry\\u202e"}`);
  });

  it("cli - tail until SIGINT: exit 0 and the temporary group removed; an undecodable message is shown, not fatal", async () => {
    const run = start(["tail", Order.type, "--url", url]);
    await following(run.stderr);
    const group = /temporary group (missive\.tail\.[0-9a-f]+)/.exec(run.stderr())![1]!;
    const db = new Database(path);
    db.prepare("INSERT INTO missive_queue (group_name, topic, message_id, headers, body) VALUES (?, ?, 'raw-1', ?, ?)").run(group, Order.type, JSON.stringify({ "ce-id": "raw-1" }), Buffer.from("{not json\u001b[2J"));
    db.close();
    await waitFor(() => run.stdout().includes("raw-1"), 15_000, "the raw message");
    expect(run.stdout()).toContain("<undecodable: ");
    expect(run.stdout()).toContain("{not json\\x1b[2J");
    run.child.kill("SIGINT");
    const r = await run.finished;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    expect(tailGroups()).toBe(0);
    expect(count(path, "missive_queue", "group_name = ?", group)).toBe(0);
  });

  it("cli - tail errors: a group with no topics exit 1, missing file exit 2, bad --count exit 2", async () => {
    const db = new Database(path);
    db.prepare("INSERT OR IGNORE INTO missive_groups (group_name, temporary, created_at) VALUES ('lonely', 0, 0)").run();
    db.close();
    const lonely = await cli(["tail", "lonely", "--url", url]);
    expect(lonely.code).toBe(1);
    expect(lonely.stderr).toContain("bound to no topics");
    const missing = await cli(["tail", "x", "--url", urlOf(join(tmp.dir, "none.db"))]);
    expect(missing.code).toBe(2);
    expectCleanError(missing.stderr);
    expect((await cli(["tail", "x", "--count", "0", "--url", url])).code).toBe(2);
    expect(tailGroups()).toBe(0);
  });
});
