/**
 * Folds the live status reports (status-reporter.ts) into one view per
 * group: unsettled messages summed over reporters, the oldest enqueue time
 * among them, and the latest time the queue was seen drained. A report is
 * live for LIVE_MS after it was made; each reporter's latest report per group
 * counts, so a final report of 0 ends what it held.
 */
import { isMissiveError } from "../../errors.js";
import { STATUS_STREAM } from "./names.js";
import type { AmqpSession } from "./session.js";
import { LIVE_MS, STATUS_STREAM_ARGS, type StatusRecord } from "./status-reporter.js";
import { declareStream, readStream } from "./stream-reader.js";

const MAX_RECORDS = 100_000;

export interface GroupStatus {
  readonly inFlight: number;
  readonly oldestAt: number | undefined;
  readonly drainedAt: number | undefined;
}

/** Live status per group: reports read from the stream, with `local` (this process's own, current) taking precedence. */
export async function readLiveStatus(session: AmqpSession, declare: boolean, local: readonly StatusRecord[]): Promise<Map<string, GroupStatus>> {
  const now = Date.now();
  const latest = new Map<string, StatusRecord>();
  const keep = (r: StatusRecord): void => {
    const key = `${r.reporter}\u0000${r.group}`;
    const seen = latest.get(key);
    if (!seen || seen.at <= r.at) latest.set(key, r);
  };
  await readRecentStatusRecords(session, declare, now - LIVE_MS - 1000, (record) => {
    const r = statusRecordOf(record);
    if (r) keep(r);
  });
  const localReporters = new Set(local.map((r) => r.reporter));
  for (const [key, r] of latest) if (localReporters.has(r.reporter)) latest.delete(key);
  for (const r of local) keep(r);
  const out = new Map<string, { inFlight: number; oldestAt: number | undefined; drainedAt: number | undefined }>();
  for (const r of latest.values()) {
    if (now - r.at > LIVE_MS) continue;
    let g = out.get(r.group);
    if (!g) out.set(r.group, (g = { inFlight: 0, oldestAt: undefined, drainedAt: undefined }));
    g.inFlight += r.unsettled;
    if (r.unsettled > 0 && r.oldestAt !== null && (g.oldestAt === undefined || r.oldestAt < g.oldestAt)) g.oldestAt = r.oldestAt;
    if (r.drainedAt !== null && (g.drainedAt === undefined || r.drainedAt > g.drainedAt)) g.drainedAt = r.drainedAt;
  }
  return out;
}

/**
 * Every record of `missive.status` from about `sinceMs` on (status reports and process records, unparsed).
 * With `declare: false` and no stream yet nobody has written one: nothing is read.
 */
export async function readRecentStatusRecords(session: AmqpSession, declare: boolean, sinceMs: number, onRecord: (record: unknown) => void): Promise<void> {
  try {
    await declareStream(session, STATUS_STREAM, STATUS_STREAM_ARGS, declare);
  } catch (err) {
    if (!isMissiveError(err) || err.code !== "MISSIVE_CONFIG") throw err;
    return;
  }
  // The broker starts at the chunk holding that second: earlier records come too and are filtered by their own time.
  await readStream(session, STATUS_STREAM, { sinceMs }, { idleMs: 150, firstIdleMs: 300, maxRecords: MAX_RECORDS }, onRecord);
}

function statusRecordOf(record: unknown): StatusRecord | undefined {
  if (record === null || typeof record !== "object") return undefined;
  const r = record as Record<string, unknown>;
  const time = (v: unknown): number | null | undefined => (v === null ? null : typeof v === "number" && Number.isFinite(v) ? v : undefined);
  const oldestAt = time(r["oldestAt"]);
  const drainedAt = time(r["drainedAt"]);
  const { reporter, group, unsettled, at } = r;
  if (r["v"] !== 1 || r["kind"] !== "status" || typeof reporter !== "string" || typeof group !== "string") return undefined;
  if (typeof unsettled !== "number" || !Number.isSafeInteger(unsettled) || unsettled < 0 || unsettled > 1_000_000) return undefined;
  if (typeof at !== "number" || !Number.isFinite(at) || oldestAt === undefined || drainedAt === undefined) return undefined;
  return { v: 1, kind: "status", reporter, group, unsettled, oldestAt, drainedAt, at };
}
