/** The services part of the dashboard in headless Chromium over a real SQLite file (support/services-scenario.ts has the flow). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missive } from "../../src/index.js";
import { sqliteTransport } from "../../src/transports/sqlite/index.js";
import { describeServices } from "./support/services-scenario.js";

describeServices("sqlite", async (reportInterval) => {
  const dir = mkdtempSync(join(tmpdir(), "missive-dashboard-services-"));
  const bus = await missive({ service: "services-test", transport: sqliteTransport({ path: join(dir, "m.db") }), reportInterval });
  return {
    bus,
    source: `sqlite://${join(dir, "m.db")}`,
    cleanup: async () => {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}, { screenshots: true });
