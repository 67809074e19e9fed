/**
 * Fault: a producer process SIGKILLed mid-stream on the SQLite default. Every
 * id it saw confirmed is in the broker afterwards (a confirm is only given
 * after the commit).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { missive } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { exited, forkFixture, killFixtures } from "../support/fixture-process.js";
import { waitFor } from "../support/wait.js";

let dir: string | undefined;
afterEach(() => {
  killFixtures();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("faults - sqlite producer", () => {
  it("faults - a producer SIGKILLed mid-stream: every confirmed message is in the broker (lost 0)", async () => {
    dir = mkdtempSync(join(tmpdir(), "missive-fault-producer-"));
    const path = join(dir, "p.db");
    const setup = await missive({ service: "setup", transport: sqliteTransport({ path }) });
    await setup.declare(OrderPlaced, "billing");
    await setup.close();
    const confirmed = new Set<string>();
    const child = forkFixture("producer", [path]);
    child.on("message", (m: { confirmed?: string }) => {
      if (m.confirmed) confirmed.add(m.confirmed);
    });
    await waitFor(() => confirmed.size >= 3000, 60_000, "3000 confirmed publishes");
    child.kill("SIGKILL");
    await exited(child);
    const db = new Database(path, { readonly: true });
    try {
      const stored = new Set((db.prepare("SELECT message_id FROM missive_queue WHERE group_name = 'billing'").all() as Array<{ message_id: string }>).map((r) => r.message_id));
      const lost = [...confirmed].filter((id) => !stored.has(id)).length;
      console.log(`faults sqlite producer sigkill: confirmed=${confirmed.size} stored=${stored.size} lost=${lost}`);
      expect(lost).toBe(0);
      expect(stored.size).toBeGreaterThanOrEqual(confirmed.size);
    } finally {
      db.close();
    }
  }, 90_000);
});
