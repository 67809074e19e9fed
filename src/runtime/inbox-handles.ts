/**
 * What `ctx.transaction` hands a handler with `idempotency: "inbox"`, worked
 * out at compile time from the bus's options: the handle of the `inbox` store
 * given to `missive()`, else the handle of the inbox the transport's URL
 * scheme brings (SQLite's file: a better-sqlite3 Database). Types only.
 *
 * Each transport declares its scheme's handle by augmenting
 * `TransportInboxHandles` in a file of its own folder, so the core names no
 * broker and a transport written outside this package can do the same:
 *
 *   declare module "missive" { interface TransportInboxHandles { myscheme: MyTx } }
 *
 * `never` declares a transport that keeps no inbox (RabbitMQ): `"inbox"` then
 * does not compile on its bus until an `inbox` store is given.
 */

/** URL scheme (lower case) → the handle of that transport's own inbox; `never` when it keeps none. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging, one transport at a time
export interface TransportInboxHandles {}

/**
 * The inbox handle a `transport` option brings: by the scheme of a URL known
 * at compile time; `unknown` for a URL that is not (a `string` read from the
 * environment) or whose scheme nobody declared; `never` for a transport
 * object, which comes with no inbox (the bus takes it as given).
 */
export type TransportInbox<T> = T extends string
  ? string extends T
    ? unknown
    : T extends `${infer S}:${string}`
      ? Lowercase<S> extends keyof TransportInboxHandles
        ? TransportInboxHandles[Lowercase<S>]
        : unknown
      : unknown
  : never;

/**
 * `"inbox"` where it can work: on a bus that has an inbox (`TInbox` is not
 * `never`). A bus whose inbox is not known at compile time (`unknown`) takes
 * it, and missive()'s runtime checks decide. (That the handler takes the
 * inbox's handle is checked at the handler: `Bus.consume` does not infer the
 * handle from it.)
 */
export type InboxWord<TInbox> = [TInbox] extends [never] ? never : "inbox";
