/** node-postgres failures as missive's typed errors, and which of them are worth one more try at once. */
import type { MissiveError } from "../../errors.js";
import { toStoreError } from "../../stores/sql/errors.js";

export function toPgTransportError(err: unknown, what: string): MissiveError {
  return toStoreError(err, "postgres transport", what);
}

/** A deadlock (two settles and a publish taking key locks in different orders) or a serialization failure: nothing was written, run it again. */
export function isTransient(err: unknown): boolean {
  const code = err !== null && typeof err === "object" && "code" in err ? (err as { code: unknown }).code : undefined;
  return code === "40P01" || code === "40001";
}
