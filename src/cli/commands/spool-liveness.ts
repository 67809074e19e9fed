/**
 * Whether the producer that recorded a spool's status still runs: the
 * broker and breaker state it left is its last word, true only while it
 * lives. After it died (and perhaps another process flushed the spool), the
 * record is history and `missive spool status` says so.
 */
import { hostname } from "node:os";

/** `alive` or `gone` on this host; `unknown` for another host (its pids mean nothing here). */
export type RecorderLiveness = "alive" | "gone" | "unknown";

export function recorderLiveness(record: { readonly pid: number; readonly host: string }): RecorderLiveness {
  if (record.host !== hostname()) return "unknown";
  try {
    // Signal 0 checks existence only; EPERM means it exists under another user.
    process.kill(record.pid, 0);
    return "alive";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM" ? "alive" : "gone";
  }
}
