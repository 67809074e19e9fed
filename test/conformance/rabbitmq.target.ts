import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqp from "amqplib";
import Database from "better-sqlite3";
import { missive, type Bus, type WireMessage } from "../../src/index.js";
import { sqliteInboxStore } from "../../src/stores/sqlite/index.js";
import { rabbitmqTransport, type RabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import type { InboxStore } from "../../src/stores/inbox.js";
import { createVhost } from "../support/rabbitmq.js";
import type { ConformanceTarget, PlainClient } from "./target.js";

/** A plain amqplib client using the CloudEvents AMQP binding (docs/transports/rabbitmq.md). */
export async function plainAmqp(url: string): Promise<PlainClient & { close(): Promise<void> }> {
  const connection = await amqp.connect(url);
  const ch = await connection.createConfirmChannel();
  return {
    async publish(topic, headers, body) {
      const amqpHeaders: Record<string, string> = {};
      let contentType: string | undefined;
      for (const [name, value] of Object.entries(headers)) {
        if (name === "content-type") contentType = value;
        else if (name.startsWith("ce-")) amqpHeaders[`cloudEvents_${name.slice(3)}`] = value;
        else amqpHeaders[name] = value;
      }
      await ch.assertExchange(topic, "fanout", { durable: true });
      ch.publish(topic, "", Buffer.from(body), { persistent: true, headers: amqpHeaders, ...(contentType ? { contentType } : {}) });
      await ch.waitForConfirms();
    },
    async take(group, max) {
      const out: WireMessage[] = [];
      while (out.length < max) {
        const m = await ch.get(group, { noAck: true });
        if (!m) break;
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(m.properties.headers ?? {})) {
          if (name.startsWith("cloudEvents_")) headers[`ce-${name.slice("cloudEvents_".length)}`] = String(value);
          else headers[name] = String(value);
        }
        if (m.properties.contentType) headers["content-type"] = String(m.properties.contentType);
        out.push({ headers, body: new Uint8Array(m.content) });
      }
      return out;
    },
    close: () => connection.close(),
  };
}

export const rabbitmqTarget: ConformanceTarget = {
  name: "rabbitmq",
  capabilities: { nativeDelay: true, ordering: "key", maxMessageBytes: 128 * 1024 * 1024, priorities: 0 },
  async setup() {
    const vhost = await createVhost("conformance");
    const plain = await plainAmqp(vhost.url);
    // One inbox for every bus of a test, in a database file, as services would share one database.
    const dir = mkdtempSync(join(tmpdir(), "missive-rabbitmq-inbox-"));
    const database = new Database(join(dir, "inbox.db"));
    const inboxStore = sqliteInboxStore({ database });
    inboxStore.migrate();
    const inbox = inboxStore as InboxStore<unknown>;
    const transports: RabbitmqTransport[] = [];
    return {
      leaseMs: 500,
      plain,
      async bus(options) {
        const transport = rabbitmqTransport({ url: vhost.url, reconnectMaxMs: 500 });
        transports.push(transport);
        return missive({ service: "conformance", inbox, ...options, transport });
      },
      async kill(bus: Bus) {
        // Drop the connection with nothing settled, as a crash would: the broker returns what was unacked.
        (bus.transport as RabbitmqTransport).destroy();
        await bus.close({ deadline: 0 });
      },
      async teardown() {
        await Promise.all(transports.map((t) => t.close().catch(() => undefined)));
        await plain.close().catch(() => undefined);
        await vhost.remove();
        inboxStore.close();
        database.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
