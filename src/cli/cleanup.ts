/**
 * Cleanup at the end of a one-shot command (closing a transport, a pool, a
 * subscription). The command's own result or error is what the user needs,
 * so a failed cleanup never replaces it; it is said on stderr as a warning
 * instead of being dropped, since it can mean a connection left open on the
 * broker or a file lock held a moment longer.
 */
import { writeErr } from "./output.js";

export async function cleanUp(what: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (err) {
    writeErr(`warning: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
