import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import Database from "better-sqlite3";
import { missive, type Bus, type WireMessage } from "../../src/index.js";
import type { InboxStore } from "../../src/stores/inbox.js";
import { sqliteInboxStore } from "../../src/stores/sqlite/index.js";
import { natsNames } from "../../src/transports/nats/names.js";
import { natsTransport, type NatsTransport } from "../../src/transports/nats/index.js";
import { removeNatsPrefix } from "../support/nats.js";
import type { ConformanceTarget, PlainClient } from "./target.js";

export const NATS_SERVER = "127.0.0.1:4222";

/**
 * A plain NATS client (docs/transports/nats.md): publishes to the topic's
 * subject with CloudEvents headers as the NATS binding names them (`ce-*`),
 * and takes a group's messages from its durable consumers with fetch + ack.
 * NATS header values cannot hold CR or LF (and lose blanks at either end):
 * such values travel as RFC 2047 encoded words, as docs/transports/nats.md
 * tells a plain client to write and read them.
 */
function toPlainValue(value: string): string {
  return /[\r\n]/.test(value) || value.trim() !== value ? `=?UTF-8?B?${Buffer.from(value, "utf8").toString("base64")}?=` : value;
}

function fromPlainValue(value: string): string {
  const m = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=$/.exec(value);
  return m === null ? value : Buffer.from(m[1] ?? "", "base64").toString("utf8");
}

export async function plainNats(server: string, prefix: string): Promise<PlainClient & { close(): Promise<void> }> {
  const nc = await connect({ servers: [server] });
  const names = natsNames(prefix);
  const jsm = await jetstreamManager(nc);
  const js = jsm.jetstream();
  return {
    async publish(topic, headers, body) {
      const h = natsHeaders();
      for (const [name, value] of Object.entries(headers)) h.set(name, toPlainValue(value));
      await js.publish(names.topicSubject(topic), body, { headers: h });
    },
    async take(group, max) {
      const out: WireMessage[] = [];
      for (const stream of await jsm.streams.names().next()) {
        if (names.topicOfStream(stream) === undefined && names.groupOfStream(stream) === undefined) continue;
        const consumers = await jsm.consumers.list(stream).next();
        if (!consumers.some((c) => c.name === names.consumer(group))) continue;
        const consumer = await js.consumers.get(stream, names.consumer(group));
        const batch = await consumer.fetch({ max_messages: max - out.length, expires: 1_000 });
        for await (const m of batch) {
          const headers: Record<string, string> = {};
          for (const name of m.headers?.keys() ?? []) if (!/^nats-|^missive-nats-/i.test(name)) headers[name] = fromPlainValue(m.headers!.get(name));
          out.push({ headers, body: m.data });
          await m.ackAck();
        }
        if (out.length >= max) break;
      }
      return out;
    },
    close: () => nc.close(),
  };
}

/** The target on the server `server()` names (read at each test's setup, so a file may start its own). */
export function natsTargetAt(name: string, server: () => string): ConformanceTarget {
  return {
    name,
    capabilities: { nativeDelay: false, ordering: "none", maxMessageBytes: 1024 * 1024, attempts: "exact", leaseRenewal: "transport" },
    async setup() {
      const prefix = `conf-nats-${randomUUID().slice(0, 8)}`;
      const plain = await plainNats(server(), prefix);
      // One inbox for every bus of a test, in a database file, as services would share one database.
      const dir = mkdtempSync(join(tmpdir(), "missive-nats-inbox-"));
      const database = new Database(join(dir, "inbox.db"));
      const inboxStore = sqliteInboxStore({ database });
      inboxStore.migrate();
      const inbox = inboxStore as InboxStore<unknown>;
      const transports = new Map<Bus, NatsTransport>();
      return {
        leaseMs: 500,
        plain,
        async bus(options) {
          const transport = natsTransport({ servers: [server()], prefix });
          const bus = await missive({ service: "conformance", inbox, ...options, transport });
          transports.set(bus, transport);
          return bus;
        },
        async kill(bus: Bus) {
          // Drop the connection with nothing settled, as a crash would: the server redelivers after the ack wait.
          await transports.get(bus)?.kill();
          await bus.close({ deadline: 0 });
        },
        async teardown() {
          await Promise.all([...transports.values()].map((t) => t.close()));
          await plain.close();
          await removeNatsPrefix(server(), prefix);
          inboxStore.close();
          database.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** The shared nats-server (max_payload 1 MB). */
export const natsTarget = natsTargetAt("nats", () => NATS_SERVER);
