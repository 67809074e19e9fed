/** The dashboard in headless Chromium over a real SQLite file (support/scenario.ts has the flows). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missive } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { describeConsole } from "./support/scenario.js";

describeConsole("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "missive-dashboard-sqlite-"));
  const bus = await missive({ service: "dashboard-test", transport: sqliteTransport({ path: join(dir, "m.db") }) });
  return {
    bus,
    source: `sqlite://${join(dir, "m.db")}`,
    cleanup: async () => {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}, { screenshots: true });
