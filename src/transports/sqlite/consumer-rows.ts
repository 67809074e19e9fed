/**
 * The consumer rows of a file as they are, for `missive queues`: which
 * process (host, pid) holds each subscription and when it last heartbeat.
 * A count of fresh rows (stats.ts) still counts a consumer whose process was
 * SIGKILLed a moment ago; with the pid, a reader on the same host can tell
 * it is gone at once. Read-only: one SELECT.
 */
import type Database from "better-sqlite3";
import { tableNames } from "./schema.js";

export interface ConsumerRow {
  readonly group: string;
  readonly host: string;
  readonly pid: number;
  readonly seenAt: number;
}

/** Rows heartbeat at or after `since` (unix ms), oldest first. */
export function readConsumerRows(db: Database.Database, prefix: string, since: number): ConsumerRow[] {
  return db
    .prepare(`SELECT group_name AS "group", host, pid, seen_at AS seenAt FROM ${tableNames(prefix).consumers} WHERE seen_at >= ? ORDER BY seen_at`)
    .all(since) as ConsumerRow[];
}
