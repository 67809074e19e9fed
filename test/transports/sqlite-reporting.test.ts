/**
 * The SQLite transport logs through the bus's logger and reports what an
 * operator must see as `transport` status events. Regression: a consumer
 * whose claims kept failing on a locked database was visible only as the
 * runtime's per-poll "receive failed", with no event and no recovery line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { missive, type Bus, type StatusEvent } from "../../src/index.js";
import type { TransportEvent } from "../../src/transport/transport.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { Ping } from "../conformance/contracts.js";
import { recordingLogger } from "../support/recording-logger.js";
import { waitFor } from "../support/wait.js";

let dir: string | undefined;
let bus: Bus | undefined;
let locker: Database.Database | undefined;
afterEach(async () => {
  if (locker?.inTransaction) locker.exec("ROLLBACK");
  locker?.close();
  await bus?.close({ deadline: 500 });
  if (dir) rmSync(dir, { recursive: true, force: true });
  locker = bus = dir = undefined;
});

describe("sqlite reporting", () => {
  it("sqlite reporting - a database locked by another connection: a due message's claims report failing with a warning, then resumed once the lock goes", async () => {
    dir = mkdtempSync(join(tmpdir(), "missive-reporting-"));
    const path = join(dir, "r.db");
    const log = recordingLogger();
    bus = await missive({ service: "reporting", transport: sqliteTransport({ path, busyTimeoutMs: 50 }), logger: log });
    const events: TransportEvent[] = [];
    bus.onStatus((e: StatusEvent) => {
      if (e.type === "transport") events.push(e.event);
    });
    const handled: number[] = [];
    await bus.consume(Ping, { group: "reporting" }, async (m) => void handled.push(m.n)).ready;

    // A message that becomes claimable while the lock is held: only then must the consumer write (claim).
    await bus.publish(Ping, { n: 1 }, { delay: "1500ms" });
    // Another connection holds the write lock, as a long migration or a stuck process would.
    locker = new Database(path);
    locker.exec("BEGIN EXCLUSIVE");
    await waitFor(() => events.some((e) => e.kind === "subscription" && e.state === "failing"), 20_000, "a subscription failing event");
    expect(events.find((e) => e.kind === "subscription")).toMatchObject({ group: "reporting", state: "failing", reason: expect.stringMatching(/busy|locked/i) });
    expect(log.at("warn", "claiming messages").length).toBeGreaterThanOrEqual(1);
    expect(log.at("warn", "write transaction").length).toBeGreaterThanOrEqual(1);

    locker.exec("COMMIT");
    await waitFor(() => events.some((e) => e.kind === "subscription" && e.state === "resumed"), 20_000, "a subscription resumed event");
    expect(log.at("info", "works again").length).toBeGreaterThanOrEqual(1);
    await waitFor(() => handled.includes(1), 15_000, "the delayed message handled after the lock went");
  }, 60_000);
});
