/**
 * Fault: `missive dlq replay --all --yes` SIGKILLed part-way through 3,000
 * dead letters. Every message id is afterwards in the queue or in the
 * dead-letter store (never neither; both would be allowed, at-least-once),
 * and a second replay finishes the job.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execSync } from "node:child_process";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { sleep } from "../support/wait.js";

const BIN = join(process.cwd(), "dist", "cli", "main.js");
const TOTAL = 3000;
const TYPE = "fault.order";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): { kill: () => void; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MISSIVE_URL: "" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return {
    kill: () => child.kill("SIGKILL"),
    done: new Promise((resolve) => child.once("close", (code, signal) => (clearTimeout(timer), resolve({ code, signal, stdout, stderr })))),
  };
}

describe("faults - cli replay", () => {
  it("faults - dlq replay SIGKILLed part-way: every message in the queue or the dead-letter store, none lost; a second replay finishes", async () => {
    if (!existsSync(BIN)) execSync("npm run build", { stdio: "ignore" });
    dir = mkdtempSync(join(tmpdir(), "missive-fault-cli-replay-"));
    const path = join(dir, "r.db");
    const transport = sqliteTransport({ path });
    await transport.bind("billing", [TYPE]);
    await transport.close();

    const ids = Array.from({ length: TOTAL }, (_, i) => `m-${String(i).padStart(5, "0")}`);
    const db = new Database(path);
    db.pragma("busy_timeout = 5000");
    const insert = db.prepare("INSERT INTO missive_dead_letters (group_name, topic, message_id, key, headers, body, attempts, dead_lettered_at) VALUES ('billing', ?, ?, NULL, ?, ?, 3, ?)");
    db.transaction(() => {
      for (const id of ids) {
        const headers = { "ce-id": id, "ce-source": "fault", "ce-type": TYPE, "ce-specversion": "1.0", "content-type": "application/json", "missive-error-code": "MISSIVE_TRANSIENT", "missive-attempts": "3" };
        insert.run(TYPE, id, JSON.stringify(headers), Buffer.from(JSON.stringify({ id })), Date.now() - 1000);
      }
    })();
    const queued = db.prepare("SELECT COUNT(*) AS n FROM missive_queue");
    const queueCount = (): number => (queued.get() as { n: number }).n;

    const first = run(["dlq", "replay", "--all", "--yes", "--batch-size", "5", "--url", `sqlite://${path}`]);
    let exited = false;
    void first.done.then(() => (exited = true));
    let atKill: number;
    for (;;) {
      atKill = queueCount();
      if (atKill >= 100 || exited) break;
      await sleep(1);
    }
    first.kill();
    const killed = await first.done;
    expect(killed.signal, `the replay finished before it could be killed: ${killed.stdout}${killed.stderr}`).toBe("SIGKILL");

    const inQueue = new Set((db.prepare("SELECT message_id FROM missive_queue").all() as Array<{ message_id: string }>).map((r) => r.message_id));
    const inStore = new Set((db.prepare("SELECT message_id FROM missive_dead_letters").all() as Array<{ message_id: string }>).map((r) => r.message_id));
    const lost = ids.filter((id) => !inQueue.has(id) && !inStore.has(id)).length;
    const both = ids.filter((id) => inQueue.has(id) && inStore.has(id)).length;
    expect(lost).toBe(0);
    expect(inQueue.size).toBeLessThan(TOTAL);

    const second = run(["dlq", "replay", "--all", "--yes", "--json", "--url", `sqlite://${path}`]);
    const finished = await second.done;
    expect(finished.code).toBe(0);
    const result = JSON.parse(finished.stdout) as { matched: number; done: number };
    expect(result).toEqual({ matched: inStore.size, done: inStore.size });
    const finalIds = (db.prepare("SELECT message_id FROM missive_queue").all() as Array<{ message_id: string }>).map((r) => r.message_id);
    const remaining = (db.prepare("SELECT COUNT(*) AS n FROM missive_dead_letters").get() as { n: number }).n;
    db.close();
    const distinct = new Set(finalIds);
    console.log(`[fault] cli replay SIGKILL: total=${TOTAL} queued-at-kill>=${atKill} after-kill queue=${inQueue.size} store=${inStore.size} both=${both} lost=${lost}; second replay done=${result.done}; final queue=${finalIds.length} distinct=${distinct.size} store=${remaining}`);
    expect(remaining).toBe(0);
    expect(distinct.size).toBe(TOTAL);
    expect(ids.every((id) => distinct.has(id))).toBe(true);
  }, 90_000);
});
