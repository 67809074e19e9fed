/**
 * What a publish confirm means on this file (docs/contract.md §1), for the docs and
 * `missive doctor`. The journal mode is the file's own (WAL is persistent);
 * `synchronous` is per connection, so it is read from the rows every
 * publishing or consuming process records (process-registry.ts), never from
 * the reader's own connection.
 */
import type Database from "better-sqlite3";
import type { DurabilityReport } from "../../transport/transport.js";
import type { ProcessRecord } from "./process-registry.js";

const FSYNCED = "with synchronous=FULL the WAL is fsynced at every commit, so a confirmed message survives a process crash and power loss (on a disk that honours fsync)";

export function readDurability(db: Database.Database, fileKey: string, processes: readonly ProcessRecord[], now: number): DurabilityReport {
  const journal = String(db.pragma("journal_mode", { simple: true }));
  const live = processes.filter((p) => p.dead === undefined);
  const settings: Record<string, string> = { file: fileKey, journal_mode: journal, synchronous: synchronousSummary(live) };
  settings["processes"] = `${live.length} live${processes.length > live.length ? `, ${processes.length - live.length} dead (not counted)` : ""}`;
  for (const p of processes) {
    // One process may open the file through several transports: each has a row of its own.
    let key = `process ${p.pid}@${p.host}`;
    for (let n = 2; key in settings; n++) key = `process ${p.pid}@${p.host} #${n}`;
    settings[key] = describe(p, now);
  }

  const warnings: string[] = [];
  if (db.memory) warnings.push("the database is in memory: everything is lost when the process exits");
  if (journal.toLowerCase() !== "wal" && !db.memory) warnings.push(`journal_mode is ${journal}, not WAL`);
  for (const p of live) {
    const who = `process ${p.pid}@${p.host} (started ${new Date(p.startedAt).toISOString()})`;
    if (p.synchronous === "NORMAL") warnings.push(`${who} runs with synchronous=NORMAL: a message it confirmed survives a process crash, but its last commits before a power loss or OS crash can be lost`);
    else if (p.synchronous === "OFF") warnings.push(`${who} runs with synchronous=OFF: a message it confirmed can be lost on an OS crash or power loss`);
  }
  const unsynced = live.filter((p) => p.synchronous === "NORMAL" || p.synchronous === "OFF");
  return {
    confirm:
      "publish resolves after the COMMIT of the SQLite write transaction holding it; " +
      (live.length === 0
        ? `how far it is fsynced depends on the synchronous setting of the process that commits it (missive's default is FULL; ${FSYNCED})`
        : unsynced.length > 0
          ? "the WAL is not fsynced at every commit by the processes named in the warnings"
          : FSYNCED),
    settings,
    warnings,
  };
}

function synchronousSummary(live: readonly ProcessRecord[]): string {
  if (live.length === 0) {
    return "unknown: no missive process is publishing or consuming on this file now; each process chooses its own when it opens the file (default FULL)";
  }
  const counts = new Map<string, number>();
  for (const p of live) counts.set(p.synchronous, (counts.get(p.synchronous) ?? 0) + 1);
  if (counts.size === 1) return live[0]?.synchronous ?? "unknown";
  return `mixed: ${[...counts].map(([value, n]) => `${value} (${n} processes)`).join(", ")}`;
}

function describe(p: ProcessRecord, now: number): string {
  const opened = `synchronous=${p.synchronous} journal_mode=${p.journalMode} busy_timeout=${p.busyTimeoutMs} ms, missive ${p.missiveVersion}, started ${new Date(p.startedAt).toISOString()}`;
  if (p.dead !== undefined) return `dead (${p.dead}; not counted): ${opened}`;
  return `live, seen ${Math.max(0, Math.round((now - p.seenAt) / 1000))} s ago: ${opened}`;
}
