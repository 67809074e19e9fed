/**
 * Transactional publish on the shared server (bench/cases/postgres-tx.ts):
 * `publishIn` in the caller's transaction against a plain INSERT in the same
 * transactions, in a schema of the run's own, dropped at the end.
 * `npm run bench` runs the same comparison in rounds (its PostgreSQL rows).
 *
 *   npx tsx bench/postgres-tx-publish.ts [transactions=3000] [concurrency=8] [notify=true|false]
 *   NOKEY=1 npx tsx bench/postgres-tx-publish.ts …   (unkeyed messages: no key triggers)
 */
import { randomBytes } from "node:crypto";
import { pgTxPublish, type TxPublishParams } from "./cases/postgres-tx.js";
import { createSchema, dropSchemas, PG_BENCH_URL, urlInSchema } from "./lib/pg-schema.js";

const schema = `txbench_${randomBytes(4).toString("hex")}`;
const base: Omit<TxPublishParams, "mode" | "prefix"> = {
  url: urlInSchema(PG_BENCH_URL, schema),
  transactions: Number(process.argv[2] ?? 3000),
  concurrency: Number(process.argv[3] ?? 8),
  notify: (process.argv[4] ?? "true") === "true",
  keyed: !process.env["NOKEY"],
};

await createSchema(PG_BENCH_URL, schema);
try {
  const plain = await pgTxPublish({ ...base, prefix: "plain_", mode: "plain" });
  console.log(JSON.stringify({ label: "plain INSERT", ...base, url: undefined, ...plain }));
  const missive = await pgTxPublish({ ...base, prefix: "missive_", mode: "publishIn" });
  console.log(JSON.stringify({ label: "publishIn", ...base, url: undefined, ...missive }));
  console.log(JSON.stringify({ ratio: Math.round((missive.perS / plain.perS) * 100) / 100 }));
} finally {
  await dropSchemas(PG_BENCH_URL, schema);
}
