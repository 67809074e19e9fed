/** Helpers shared by the SQLite transport tests: a temp directory per test, transports closed after it. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { emptyHeaders, type WireMessage } from "../../src/envelope/wire.js";
import type { Delivery, OutgoingMessage, SubscribeOptions } from "../../src/transport/transport.js";
import { sqliteTransport, type SqliteTransport, type SqliteTransportOptions } from "../../src/transports/sqlite/index.js";
export { receiveAtLeast } from "../support/receive.js";

export function wire(body: string | Uint8Array, headers: Record<string, string> = {}): WireMessage {
  return { headers: Object.assign(emptyHeaders(), headers), body: typeof body === "string" ? Buffer.from(body) : body };
}

/** A message whose id doubles as its body, so tests can read what they got. */
export function message(topic: string, id: string, key?: string, extra: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return { topic, id, key, wire: wire(id, { "ce-id": id, "ce-type": topic }), ...extra };
}

export function bodyOf(delivery: Delivery): string {
  return Buffer.from(delivery.wire.body).toString("utf8");
}

export function bodies(deliveries: readonly Delivery[]): string[] {
  return deliveries.map(bodyOf);
}

export function subOptions(group: string, topics: string[], extra: Partial<SubscribeOptions> = {}): SubscribeOptions {
  return { group, topics, prefetch: 10, ordered: true, leaseMs: 5_000, ...extra };
}


/**
 * Registers per-test cleanup: every transport opened through `open` is closed
 * and every directory from `dir` removed after each test.
 */
export function sqliteFixture(): { dir(): string; dbPath(): string; open(options?: Partial<SqliteTransportOptions> | string): SqliteTransport } {
  const dirs: string[] = [];
  const transports: SqliteTransport[] = [];
  let current: string | undefined;
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close().catch(() => undefined)));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    current = undefined;
  });
  const dir = (): string => {
    const d = mkdtempSync(join(tmpdir(), "missive-sqlite-"));
    dirs.push(d);
    return d;
  };
  const dbPath = (): string => (current ??= join(dir(), "missive.db"));
  return {
    dir,
    dbPath,
    open(options) {
      const t = sqliteTransport(typeof options === "string" ? options : { path: dbPath(), ...options });
      transports.push(t);
      return t;
    },
  };
}
