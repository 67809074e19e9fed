/** The services part of the dashboard in headless Chromium over the shared PostgreSQL, tables of their own prefix: reports cross in missive_service_reports. */
import { missive } from "../../src/index.js";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { dropPrefix, PG_URL, pgPrefix } from "../support/postgres.js";
import { describeServices } from "./support/services-scenario.js";

describeServices("postgres", async (reportInterval) => {
  const prefix = pgPrefix();
  const bus = await missive({ service: "services-test", transport: postgresTransport({ connectionString: PG_URL, tablePrefix: prefix }), reportInterval });
  return {
    bus,
    source: PG_URL,
    cleanup: async () => {
      await bus.close();
      await dropPrefix(prefix);
    },
  };
});
