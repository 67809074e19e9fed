/**
 * bench/postgres-churn.ts on a PostgreSQL cluster of its own (initdb into a
 * temp dir, another port, server defaults: autovacuum on), removed after.
 * The shared test server runs with autovacuum off, so churn is measured here.
 *
 *   npx tsx bench/postgres-churn-own.ts [messages=1000000] [batch=500] [settleMs=90000] [backlog=20000]
 */
import { execFileSync } from "node:child_process";
import { startBroker } from "../test/support/broker-process.js";

const server = await startBroker("postgres");
try {
  execFileSync("npx", ["tsx", "bench/postgres-churn.ts", process.argv[2] ?? "1000000", process.argv[3] ?? "500", process.argv[4] ?? "90000", process.argv[5] ?? "20000"], {
    stdio: "inherit",
    env: { ...process.env, MISSIVE_PG_URL: server.url },
  });
} finally {
  await server.stop();
}
