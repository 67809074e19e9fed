/**
 * RabbitMQ - messages with headers the broker accepts but missive cannot
 * publish again as they came (issue 14): 5,350 one-byte headers from plain
 * amqplib (the table overflows amqplib's 64 KiB once the diagnostics are
 * added), 64–128 KiB of headers and 10,000 headers from a client that sends
 * tables up to the broker's frame_max. Each is dead-lettered, whether the
 * handler refuses it (PermanentError, limits raised so it decodes) or it
 * fails to decode (default limits); the consumer goes on, nothing stays
 * held, the dead letter keeps every original header and body, and a replay
 * delivers the original again, every header restored.
 */
import amqp from "amqplib";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { DIAGNOSTIC_PREFIX, DiagnosticHeaders, ErrorCodes, PermanentError, TransientError, defineMessage, missive, type Bus } from "../../src/index.js";
import { rabbitmqTransport, type RabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { deadLetterQueueOf } from "../../src/transports/rabbitmq/names.js";
import { largeHeaderPublisher, type RawHeaders } from "../support/amqp-large-headers.js";
import { createVhost, type TestVhost } from "../support/rabbitmq.js";
import { receiveAtLeast } from "../support/receive.js";
import { waitFor } from "../support/wait.js";

const Note = defineMessage({ type: "conformance.oversized.note", schema: z.object({ n: z.number().int() }) });
const BAD = 20;

/** The wire name missive gives a header a plain AMQP client sent. */
function wireName(name: string): string {
  return name.startsWith("cloudEvents_") ? `ce-${name.slice("cloudEvents_".length)}` : name.toLowerCase();
}

function attributes(id: string): RawHeaders {
  return { cloudEvents_id: id, cloudEvents_source: "plain-client", cloudEvents_type: Note.type, cloudEvents_specversion: "1.0" };
}

interface Shape {
  readonly what: string;
  /** Whether plain amqplib can send it (else the frame_max client does). */
  readonly amqplib: boolean;
  headers(id: string): RawHeaders;
}

const SHAPES: readonly Shape[] = [
  {
    what: "5,350 one-byte headers (63 KiB of table) from plain amqplib",
    amqplib: true,
    headers: (id) => {
      const h: RawHeaders = attributes(id);
      // Close to amqplib's 64 KiB table: the dead letter's diagnostics push it over.
      for (let i = 0; i < 5350; i++) h[`h${String(i).padStart(4, "0")}`] = String(i % 10);
      return h;
    },
  },
  {
    what: "100 KiB of headers",
    amqplib: false,
    headers: (id) => {
      const h: RawHeaders = attributes(id);
      for (let i = 0; i < 100; i++) h[`big-${i}`] = String.fromCharCode(97 + (i % 26)).repeat(1024);
      return h;
    },
  },
  {
    what: "10,000 headers",
    amqplib: false,
    headers: (id) => {
      const h: RawHeaders = attributes(id);
      for (let i = 0; i < 10_000 - 4; i++) h[`h${i}`] = String(i % 10);
      return h;
    },
  },
];

const PATHS = [
  { what: "the handler throws PermanentError", limits: { maxHeaderCount: 20_000, maxHeadersBytes: 512 * 1024 }, reason: "permanent", code: ErrorCodes.PERMANENT },
  { what: "decoding fails", limits: undefined, reason: "poison", code: ErrorCodes.TOO_LARGE },
] as const;

describe("rabbitmq oversized headers", () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  async function publisher(vhost: TestVhost, shape: Shape): Promise<(headers: RawHeaders, body: Uint8Array) => Promise<void>> {
    if (!shape.amqplib) {
      const raw = await largeHeaderPublisher(vhost.url);
      cleanup.push(() => raw.close());
      return (headers, body) => raw.publish(Note.type, headers, body, { contentType: "application/json" });
    }
    const connection = await amqp.connect(vhost.url);
    cleanup.push(() => connection.close());
    const ch = await connection.createConfirmChannel();
    await ch.assertExchange(Note.type, "fanout", { durable: true });
    return async (headers, body) => {
      ch.publish(Note.type, "", Buffer.from(body), { persistent: true, headers, contentType: "application/json" });
      await ch.waitForConfirms();
    };
  }

  for (const shape of SHAPES) {
    for (const path of PATHS) {
      it(`rabbitmq - ${shape.what}, ${path.what}: dead-lettered with every header kept, the consumer goes on, nothing held, a replay restores every header`, async () => {
        const vhost = await createVhost("oversized");
        cleanup.push(() => vhost.remove());
        const transport = rabbitmqTransport({ url: vhost.url, reconnectMaxMs: 500 });
        const bus: Bus = await missive({ service: "oversized", transport, ...(path.limits ? { limits: path.limits } : {}) });
        cleanup.push(() => bus.close({ deadline: 500 }));
        const group = "oversized";
        const handled: number[] = [];
        const consumer = bus.consume(Note, { group, concurrency: 4, breaker: false }, (d) => {
          if (d.n === 0) throw new PermanentError("refused: oversized test message");
          handled.push(d.n);
        });
        await consumer.ready;

        const publish = await publisher(vhost, shape);
        const bad = Buffer.from('{"n":0}');
        for (let i = 0; i < BAD; i++) await publish(shape.headers(`bad-${i}`), bad);
        await publish(attributes("good"), Buffer.from('{"n":1}'));

        await waitFor(async () => consumer.stats().deadLettered === BAD && handled.length === 1, 60_000, `${BAD} dead-lettered and the good one handled`)
          .catch((err: Error) => {
            throw new Error(`${err.message}; stats ${JSON.stringify(consumer.stats())}, handled ${JSON.stringify(handled)}`);
          });
        expect(handled).toEqual([1]);
        expect(consumer.stats()).toMatchObject({ held: 0, inFlight: 0, settleFailures: 0, deadLettered: BAD, handled: 1, state: "running" });

        const admin = bus.deadLetters();
        expect(await admin.count({ group })).toBe(BAD);
        const [entry] = await admin.list({ group, messageId: "bad-7" });
        expect(entry).toBeDefined();
        const original = shape.headers("bad-7");
        for (const [name, value] of Object.entries(original)) expect(entry!.wire.headers[wireName(name)], name).toBe(String(value));
        expect(Buffer.from(entry!.wire.body).toString()).toBe('{"n":0}');
        expect(entry!.diagnostics).toMatchObject({ reason: path.reason, errorCode: path.code, group });
        // A plain client reading the dead-letter queue is told what was moved into the body, and sees every diagnostic.
        const look = await amqp.connect(vhost.url);
        cleanup.push(() => look.close());
        const lookCh = await look.createChannel();
        const raw = await lookCh.get(deadLetterQueueOf(group), { noAck: false });
        expect(raw).not.toBe(false);
        const rawHeaders = (raw as amqp.GetMessage).properties.headers ?? {};
        expect(String(rawHeaders["x-missive-moved-headers"])).toMatch(/^\d+ headers moved into the body: "(h\d|big-)/);
        expect(rawHeaders[DiagnosticHeaders.reason]).toBe(path.reason);
        lookCh.nack(raw as amqp.GetMessage, false, true);
        await look.close();
        cleanup.pop();

        // Redrive: the consumer is gone, so the replayed message is read as the transport hands it out.
        await consumer.close(500);
        expect(await admin.replay([entry!.entryId])).toBe(1);
        const reader: RabbitmqTransport = rabbitmqTransport({ url: vhost.url, reconnectMaxMs: 500 });
        cleanup.push(() => reader.close());
        await reader.connect();
        const subscription = await reader.subscribe({ group, topics: [Note.type], prefetch: 1, ordered: false, leaseMs: 5_000 });
        const [again] = await receiveAtLeast(subscription, 1, 10_000);
        expect(again).toBeDefined();
        for (const [name, value] of Object.entries(original)) expect(again!.wire.headers[wireName(name)], name).toBe(String(value));
        expect(Object.keys(again!.wire.headers).filter((h) => h.startsWith(DIAGNOSTIC_PREFIX))).toEqual([]);
        expect(Buffer.from(again!.wire.body).toString()).toBe('{"n":0}');
        await again!.ack();
        expect(await admin.count({ group })).toBe(BAD - 1);
      }, 120_000);
    }
  }

  for (const shape of SHAPES.filter((x) => !x.amqplib)) {
    it(`rabbitmq - ${shape.what}, the handler fails once: its retry copy is published and the next attempt handles it; nothing held`, async () => {
      const vhost = await createVhost("oversized");
      cleanup.push(() => vhost.remove());
      const transport = rabbitmqTransport({ url: vhost.url, reconnectMaxMs: 500 });
      const bus: Bus = await missive({ service: "oversized", transport, limits: PATHS[0].limits });
      cleanup.push(() => bus.close({ deadline: 500 }));
      const attempts: number[] = [];
      const consumer = bus.consume(Note, { group: "retried", concurrency: 4, breaker: false, retry: { attempts: 3, delays: ["10ms"] } }, (_d, ctx) => {
        if (ctx.attempt === 1) throw new TransientError("test: once more");
        attempts.push(ctx.attempt);
      });
      await consumer.ready;
      const publish = await publisher(vhost, shape);
      for (let i = 0; i < 5; i++) await publish(shape.headers(`again-${i}`), Buffer.from('{"n":0}'));
      await waitFor(() => attempts.length === 5 && consumer.stats().held === 0, 60_000, "every message handled on its second attempt")
        .catch((err: Error) => {
          throw new Error(`${err.message}; stats ${JSON.stringify(consumer.stats())}`);
        });
      expect(attempts).toEqual([2, 2, 2, 2, 2]);
      expect(consumer.stats()).toMatchObject({ held: 0, inFlight: 0, settleFailures: 0, retried: 5, deadLettered: 0 });
    }, 120_000);
  }
});
