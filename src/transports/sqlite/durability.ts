/**
 * What a publish confirm means on this file as configured (DESIGN.md §1),
 * read back from SQLite itself rather than from our options, for the docs
 * and `missive doctor`.
 */
import type Database from "better-sqlite3";
import type { DurabilityReport } from "../../transport/transport.js";

const SYNCHRONOUS = ["OFF", "NORMAL", "FULL", "EXTRA"] as const;

export function readDurability(db: Database.Database, fileKey: string): DurabilityReport {
  const journal = String(db.pragma("journal_mode", { simple: true }));
  const syncLevel = Number(db.pragma("synchronous", { simple: true }));
  const synchronous = SYNCHRONOUS[syncLevel] ?? String(syncLevel);
  const settings = {
    file: fileKey,
    journal_mode: journal,
    synchronous,
    busy_timeout: `${String(db.pragma("busy_timeout", { simple: true }))} ms`,
  };
  const warnings: string[] = [];
  if (db.memory) warnings.push("the database is in memory: everything is lost when the process exits");
  if (journal.toLowerCase() !== "wal" && !db.memory) warnings.push(`journal_mode is ${journal}, not WAL`);
  if (syncLevel < 2) {
    warnings.push(
      syncLevel === 1
        ? "synchronous=NORMAL: a confirmed publish survives a process crash, but the last commits before a power loss or OS crash can be lost"
        : "synchronous=OFF: a confirmed publish can be lost on an OS crash or power loss",
    );
  }
  return {
    confirm:
      "publish resolves after the COMMIT of the SQLite write transaction holding it; " +
      (syncLevel >= 2
        ? "with synchronous=FULL the WAL is fsynced at every commit, so a confirmed message survives a process crash and power loss (on a disk that honours fsync)"
        : "the WAL is not fsynced at every commit"),
    settings,
    warnings,
  };
}
