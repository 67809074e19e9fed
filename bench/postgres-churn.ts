/**
 * The churn case (bench/cases/postgres-churn.ts) by hand, printing its
 * progress and result: `npm run bench -- --only postgres` runs it as a row.
 *
 *   npx tsx bench/postgres-churn.ts [messages=1000000] [batch=500] [settleMs=60000] [backlog=20000]
 */
import { pgChurn } from "./cases/postgres-churn.js";

const arg = (i: number, fallback: number): number => Number(process.argv[i] ?? fallback);
const result = await pgChurn(
  { messages: arg(2, 1_000_000), batch: arg(3, 500), settleMs: arg(4, 60_000), backlog: arg(5, 20_000) },
  (line) => console.log(line),
);
console.log(JSON.stringify(result, null, 2));
