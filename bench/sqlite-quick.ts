/**
 * Quick SQLite transport figures: publish rate with 64 concurrent
 * single-message publishers (group commit under synchronous=FULL), then the
 * claim + ack rate of one subscription draining that backlog.
 *
 *   npx tsx bench/sqlite-quick.ts [messages=200000] [publishers=64] [FULL|NORMAL]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OutgoingMessage } from "../src/index.js";
import { sqliteTransport } from "../src/transports/sqlite/index.js";
import { seamMessage } from "./cases/event.js";

const total = Number(process.argv[2] ?? 200_000);
const publishers = Number(process.argv[3] ?? 64);
const synchronous = (process.argv[4] ?? "FULL").toUpperCase() as "FULL" | "NORMAL";

const dir = mkdtempSync(join(tmpdir(), "missive-bench-"));
const transport = sqliteTransport({ path: join(dir, "bench.db"), synchronous });
const topic = "bench.event";
const body = Buffer.from(JSON.stringify({ orderId: "4821", totalCents: 15900, note: "x".repeat(64) }));

const message = (): OutgoingMessage => seamMessage(topic, body, { contentType: "application/json" });

try {
  await transport.bind("bench", [topic]);
  let sent = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: publishers }, async () => {
      while (sent < total) {
        sent++;
        const [result] = await transport.publish([message()]);
        if (result) throw result;
      }
    }),
  );
  const publishMs = performance.now() - t0;
  const publishCpu = process.cpuUsage(cpu0);
  const sub = await transport.subscribe({ group: "bench", topics: [topic], prefetch: 256, ordered: false, leaseMs: 30_000 });
  let received = 0;
  const cpu1 = process.cpuUsage();
  const t1 = performance.now();
  while (received < total) {
    const batch = await sub.receive(256, 1000);
    if (batch.length === 0) break;
    received += batch.length;
    await Promise.all(batch.map((d) => d.ack()));
  }
  const consumeMs = performance.now() - t1;
  const consumeCpu = process.cpuUsage(cpu1);
  const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString("en-US")} msg/s`;
  // CPU per message is steadier than wall-clock rates on a shared machine.
  const cpuPer = (usage: NodeJS.CpuUsage, n: number): string => `${((usage.user + usage.system) / n).toFixed(1)} µs CPU/msg`;
  process.stdout.write(
    `sqlite synchronous=${synchronous}, ${publishers} concurrent single-message publishers: ${total} in ${publishMs.toFixed(0)} ms = ${rate(total, publishMs)} (${cpuPer(publishCpu, total)})\n` +
      `claim+ack, one subscription (prefetch 256): ${received} in ${consumeMs.toFixed(0)} ms = ${rate(received, consumeMs)} (${cpuPer(consumeCpu, received)})\n`,
  );
  await sub.close();
} finally {
  await transport.close();
  rmSync(dir, { recursive: true, force: true });
}
