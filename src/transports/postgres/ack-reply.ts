/** What an ack statement replies (queue-store.ts acks): its closing SELECT, and which leases that reply says were deleted. */

/**
 * The end of an ack statement (after its `gone` CTE, the rows it deleted): how many, and which only when some lease
 * was not found. One row per ack batch instead of one per deleted row: at 256 acks a batch, the per-row replies (a
 * DataRow each, parsed into a row object and a seq string, then a Set of them) were client CPU for nothing in the
 * usual case where every lease was still held (consume 27.0–36.9 → 24.0–31.3 µs/msg, six interleaved pairs).
 */
export const ACKED = "SELECT count(*)::int AS n, CASE WHEN count(*) < cardinality($1::bigint[]) THEN coalesce(array_agg(seq), '{}') END AS kept FROM gone";

export interface AckedRow {
  readonly n: number;
  /** The deleted rows' seqs, only when fewer were deleted than asked. */
  readonly kept: string[] | null;
}

/** Which of `leases` an ack statement's reply (ACKED) says were deleted. */
export function keptLeases(leases: ReadonlyArray<{ readonly seq: string }>, row: AckedRow | undefined): boolean[] {
  if (row === undefined) return leases.map(() => false);
  if (row.kept === null) return leases.map(() => true);
  const deleted = new Set(row.kept.map(String));
  return leases.map((l) => deleted.has(l.seq));
}
