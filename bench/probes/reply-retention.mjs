// Issue 17 (Redis drain RSS): why reply buffers outlive the scavenges they should die in.
//
// Each case hands a 43 KB Buffer through a promise, over and over, with some JS garbage alongside, and prints
// process.memoryUsage().arrayBuffers at its highest and as seen right before and after each collection (a collection
// shows as heapUsed dropping). "freed" cases fall back to ~0.2 MB at every scavenge; "kept" cases climb ~1.4 MB per
// scavenge until a mark-compact. Measured on Node 20.20 / ioredis 5.11 (2026-12-08, 2-core shared machine):
//   js-wrapped     kept   (30-43 MB) a closure that calls the promise's resolve, stored on an object, called later
//   js-closure     kept   (25-43 MB) the promise's own resolve stored, but ANY closure made inside the executor
//                                    (here `() => 1`, stored on the same object): the closure is what keeps the value
//   js-raw         freed  (0.3 MB)   the promise's own resolve function stored and called later, no closure made
//   ioredis        kept   (48-50 MB) redis.getBuffer of a 43 KB value (Command.resolve is such a wrapping closure)
//   ioredis-raw    freed  (1.8 MB)   the same command through a Command subclass whose resolve is the promise's own
//                                  (its timers cleared by a reaction instead)
// ioredis's Command makes two closures in its executor (resolve via _convertValue, reject), so a reply, a view of
// the socket chunk it came in, is kept that way; swapping the promise after construction is too late. missive's reads
// go through src/transports/redis/reply-command.ts (ioredis-raw's way) and, for the read sent along with acks, one
// MessagePack string per entry (scripts.ts READ_PACKED: a string spanning socket reads lands in redis-parser's
// module-wide pool, kept across scavenges too). 100,000-message drain: RSS growth 0.2-0.9 MB, main 23.8-24.9 MB.
//
// Run: node bench/probes/reply-retention.mjs [redis://127.0.0.1:6379] (each case in a process of its own: garbage one
// case left in old space would otherwise stay until a mark-compact and cloud the next).
import { Buffer } from "node:buffer";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { clearInterval, setInterval } from "node:timers";

const url = process.argv[2] ?? "redis://127.0.0.1:6379";
const only = process.argv[3];
const CASES = ["js-wrapped", "js-closure", "js-raw", "ioredis", "ioredis-raw"];
if (only === undefined) {
  for (const name of CASES) process.stdout.write(execFileSync(process.execPath, [new URL(import.meta.url).pathname, url, name]));
  process.exit(0);
}
const require = createRequire(import.meta.url);
const BYTES = 43 * 1024;
const MB = 1024 * 1024;

function garbage() {
  const g = [];
  for (let i = 0; i < 2000; i++) g.push({ i, s: "z" + i });
  return g.length;
}

/** Runs `next()` (a promise of a Buffer) for `ms`; arrayBuffers at its highest and around each collection. */
async function measure(name, next, ms = 1500) {
  if (name !== only) return;
  let maxAb = 0;
  let prev = process.memoryUsage();
  const around = [];
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const v = await next();
    if (v.length !== BYTES) throw new Error(`${name}: got ${v.length} bytes`);
    garbage();
    const m = process.memoryUsage();
    maxAb = Math.max(maxAb, m.arrayBuffers);
    if (m.heapUsed < prev.heapUsed - MB) around.push(`${(prev.arrayBuffers / MB).toFixed(1)}->${(m.arrayBuffers / MB).toFixed(1)}`);
    prev = m;
  }
  console.log(`${name.padEnd(12)} max arrayBuffers ${(maxAb / MB).toFixed(1)} MB; before->after each collection: ${around.slice(0, 8).join(" ")}`);
}

// Pure JS: the Buffer is made and handed over on a timer, as a socket's data would be.
const queue = [];
const feeder = setInterval(() => queue.shift()?.(Buffer.allocUnsafe(BYTES)), 0);
await measure("js-wrapped", () => {
  const holder = {};
  holder.promise = new Promise((resolve) => (holder.resolve = (v) => { resolve(v); }));
  queue.push(holder.resolve);
  return holder.promise;
});
await measure("js-closure", () => {
  const holder = {};
  holder.promise = new Promise((resolve) => {
    holder.resolve = resolve;
    holder.other = () => 1;
  });
  queue.push(holder.resolve);
  return holder.promise;
});
await measure("js-raw", () => {
  const holder = {};
  holder.promise = new Promise((resolve) => (holder.resolve = resolve));
  queue.push(holder.resolve);
  return holder.promise;
});
clearInterval(feeder);

const { Redis, Command } = require("ioredis");
const redis = new Redis(url, { commandTimeout: 10_000 });
const key = `missive-probe-reply-retention-${process.pid}`;
await redis.set(key, Buffer.alloc(BYTES, 120));

/** A Command resolved by its promise's own resolve function; its timers cleared by a reaction on the promise. */
class RawResolveCommand extends Command {
  initPromise() {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const clear = () => this._clearTimers();
    this.promise.then(clear, clear);
  }
}

await measure("ioredis", () => redis.getBuffer(key));
await measure("ioredis-raw", () => redis.sendCommand(new RawResolveCommand("get", [key], { replyEncoding: null })));
await redis.del(key);
redis.disconnect();
