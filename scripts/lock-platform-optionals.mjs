#!/usr/bin/env node
/**
 * The npm registry this project is built against carries only the Linux
 * builds of msgpackr-extract (an optional dependency of bullmq's msgpackr),
 * so `npm install` leaves the other platforms' optional packages out of
 * package-lock.json, and `npm ci` then refuses the lock as out of sync.
 * This puts their entries back (os/cpu-gated, never installed here).
 * Run it after any `npm install`: `node scripts/lock-platform-optionals.mjs`.
 */
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const extract = lock.packages["node_modules/msgpackr-extract"];
const platforms = { "darwin-arm64": ["darwin", "arm64"], "darwin-x64": ["darwin", "x64"], "linux-arm": ["linux", "arm"], "linux-arm64": ["linux", "arm64"], "linux-x64": ["linux", "x64"], "win32-x64": ["win32", "x64"] };
let added = 0;
for (const [name, [os, cpu]] of Object.entries(platforms)) {
  const key = `node_modules/@msgpackr-extract/msgpackr-extract-${name}`;
  if (!extract || lock.packages[key]) continue;
  lock.packages[key] = { version: extract.version, cpu: [cpu], dev: true, license: "MIT", optional: true, os: [os] };
  added++;
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} optional platform entries added`);
