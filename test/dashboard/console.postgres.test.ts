/** The dashboard in headless Chromium over the shared PostgreSQL (tables of a prefix per test), the same flows as on SQLite (support/scenario.ts). */
import { missive } from "../../src/index.js";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { dropPrefix, PG_URL, pgPrefix } from "../support/postgres.js";
import { describeConsole } from "./support/scenario.js";

describeConsole("postgres", async () => {
  const prefix = pgPrefix();
  const bus = await missive({ service: "dashboard-test", transport: postgresTransport({ connectionString: PG_URL, tablePrefix: prefix }) });
  return {
    bus,
    source: PG_URL,
    cleanup: async () => {
      await bus.close();
      await dropPrefix(prefix);
    },
  };
});
