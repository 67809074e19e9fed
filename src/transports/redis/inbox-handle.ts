/**
 * Types only: the Redis transport keeps no inbox of its own (register.ts),
 * so on a bus made from a `redis://` URL literal with no `inbox` store,
 * `idempotency: "inbox"` does not compile (runtime/inbox-handles.ts).
 */
declare module "../../runtime/inbox-handles.js" {
  interface TransportInboxHandles {
    redis: never;
    rediss: never;
  }
}

export {};
