/**
 * Types only: a `memory://` URL brings the named broker's inbox (register.ts),
 * whose transaction hands the handler a MemoryTx, so `ctx.transaction` with
 * `idempotency: "inbox"` is typed with it (runtime/inbox-handles.ts).
 */
import type { MemoryTx } from "./memory-inbox.js";

declare module "../../runtime/inbox-handles.js" {
  interface TransportInboxHandles {
    memory: MemoryTx;
  }
}
