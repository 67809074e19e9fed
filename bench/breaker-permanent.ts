/**
 * Issue 14's breaker figure: how long a consumer with the default circuit
 * breaker takes to dead-letter a backlog its handler refuses with
 * PermanentError (memory transport, so only the runtime is measured), and
 * how many it managed within the cap, with the breaker on and off.
 *
 *   npx tsx bench/breaker-permanent.ts [messages=5000] [capSeconds=40]
 */
import { z } from "zod";
import { defineMessage, missive, PermanentError } from "../src/index.js";
import { createMemoryBroker } from "../src/transports/memory/index.js";

const total = Number(process.argv[2] ?? 5000);
const capMs = Number(process.argv[3] ?? 40) * 1000;

const Refused = defineMessage({ type: "bench.refused", schema: z.object({ n: z.number() }) });

async function run(breaker: boolean): Promise<{ deadLettered: number; ms: number }> {
  const broker = createMemoryBroker({ seed: 1 });
  const bus = await missive({ service: "bench", transport: broker.transport() });
  const c = bus.consume(Refused, { group: "refusals", concurrency: 16, ...(breaker ? {} : { breaker: false }) }, () => {
    throw new PermanentError("refused");
  });
  await c.ready;
  const started = Date.now();
  for (let i = 0; i < total; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, total - i) }, (_, j) => bus.publish(Refused, { n: i + j })));
  }
  while (c.stats().deadLettered < total && Date.now() - started < capMs) await new Promise((r) => setTimeout(r, 20));
  const result = { deadLettered: c.stats().deadLettered, ms: Date.now() - started };
  await bus.close({ deadline: 1000 });
  return result;
}

for (const breaker of [true, false]) {
  const r = await run(breaker);
  console.log(`breaker ${breaker ? "on " : "off"}: ${r.deadLettered}/${total} dead-lettered in ${(r.ms / 1000).toFixed(2)} s (cap ${capMs / 1000} s)`);
}
