/**
 * Types only: RabbitMQ keeps no inbox of its own (register.ts), so on a bus
 * made from an `amqp://` URL literal with no `inbox` store, `idempotency:
 * "inbox"` does not compile (runtime/inbox-handles.ts); missive() and
 * consume() refuse it at run time with the code to paste.
 */
declare module "../../runtime/inbox-handles.js" {
  interface TransportInboxHandles {
    amqp: never;
    amqps: never;
  }
}

export {};
