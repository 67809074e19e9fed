/**
 * A PostgreSQL server that dies or ends a session sends a FATAL to the
 * client, and node-postgres emits it as an 'error' event when no query is
 * running on that client. The pool listens only while a client is idle: a
 * client checked out between two statements (a publish's or a handler's
 * transaction), or one being ended, had no listener, so a server restart at
 * that moment crashed the service with an uncaught exception (CI: the
 * PostgreSQL restart fault test). Here the session of a checked-out client
 * is ended by the server itself (pg_terminate_backend) while the client
 * waits between statements.
 */
import { afterEach, describe, expect, it } from "vitest";
import { postgresTransport, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { sleep } from "../support/wait.js";
import { dropPrefix, PG_URL, pgPrefix, pgQuery } from "../support/postgres.js";

let transport: PostgresTransport | undefined;
let prefix: string | undefined;

afterEach(async () => {
  await transport?.close();
  transport = undefined;
  if (prefix) await dropPrefix(prefix);
  prefix = undefined;
});

describe("postgres transport - connection errors", () => {
  it("postgres - the server ending the session of a checked-out connection between statements fails its next statement, and crashes nothing", async () => {
    prefix = pgPrefix();
    transport = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix });
    await transport.connect();
    const client = await transport.pool.connect();
    const pid = Number((await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid);
    await pgQuery("SELECT pg_terminate_backend($1)", [pid]);
    // The FATAL arrives while nothing runs on the client: without a listener, an uncaught exception here.
    await sleep(500);
    const next = await client.query("SELECT 1").then(() => "answered", (err: unknown) => (err instanceof Error ? err.message : String(err)));
    expect(next).not.toBe("answered");
    client.release(true);
    // The pool goes on with a fresh connection.
    expect((await transport.pool.query<{ one: number }>("SELECT 1 AS one")).rows[0]?.one).toBe(1);
  });
});
