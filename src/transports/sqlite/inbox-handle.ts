/**
 * Types only: a `sqlite://` URL brings the file's own inbox (register.ts),
 * whose transaction hands the handler the better-sqlite3 handle of the file,
 * so `ctx.transaction` with `idempotency: "inbox"` is typed with it
 * (runtime/inbox-handles.ts).
 */
import type Database from "better-sqlite3";

declare module "../../runtime/inbox-handles.js" {
  interface TransportInboxHandles {
    sqlite: Database.Database;
  }
}
