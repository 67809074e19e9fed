import { describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/nats-core";
import { ProtocolHandler } from "@nats-io/nats-core/internal";
import { LeaseLostError } from "../../errors.js";
import { AckFlusher, frame } from "./ack-flusher.js";
import { NatsDelivery, type DeliveryHost } from "./delivery.js";

/** The bytes the client's own publish queues for each (subject, body): its ProtocolHandler.publish, writing into a list. */
function clientBytes(subjects: readonly string[], bodies: readonly string[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const recorder = {
    outBytes: 0,
    outMsgs: 0,
    sendCommand(cmd: string | Uint8Array, ...payloads: Uint8Array[]): void {
      parts.push(typeof cmd === "string" ? new TextEncoder().encode(cmd) : cmd, ...payloads);
    },
  };
  const publish = ProtocolHandler.prototype.publish as (this: unknown, subject: string, payload: string) => void;
  subjects.forEach((subject, i) => publish.call(recorder, subject, bodies[i]!));
  return Buffer.concat(parts);
}

/** A connection that records what the flusher hands the client; `protocol` undefined: a client without one. */
function fakeConnection(protocol: boolean): { nc: NatsConnection; commands: string[]; published: string[]; flushes: number } {
  const seen = { commands: [] as string[], published: [] as string[], flushes: 0 };
  const nc = {
    protocol: protocol ? { noMorePublishing: false, sendCommand: (cmd: string) => seen.commands.push(cmd) } : undefined,
    isClosed: () => false,
    publish: (subject: string, data: Uint8Array) => seen.published.push(`${subject} ${new TextDecoder().decode(data)}`),
    flush: () => {
      seen.flushes++;
      return Promise.resolve();
    },
  } as unknown as NatsConnection;
  return Object.assign(seen, { nc });
}

describe("nats ack flusher", () => {
  it("ack flusher - one frame of held acks is byte for byte what the client's publish sends for each", () => {
    const subjects = ["$JS.ACK.T_orders.billing.1.41.40.1765100000123456789.7", "$JS.ACK.T_commandes_été.facturation.2.42.41.1765100000123456789.6", "$JS.ACK.hub.ACCHASH.T_x.y.1.1.1.1.0.token"];
    const bodies = ["+ACK", "-NAK", "+WPI"];
    expect(Buffer.from(new TextEncoder().encode(frame(subjects, bodies)))).toEqual(Buffer.from(clientBytes(subjects, bodies)));
  });

  it("ack flusher - the acks of one turn reach the client as one command and one flush; without a protocol handler, a publish each", async () => {
    const bulk = fakeConnection(true);
    const acks = new AckFlusher(bulk.nc, 1_000);
    await Promise.all([acks.send("$JS.ACK.S.c.1.1.1.1.0", "+ACK"), acks.send("$JS.ACK.S.c.1.2.2.1.0", "+ACK")]);
    expect(bulk.commands).toEqual(["PUB $JS.ACK.S.c.1.1.1.1.0 4\r\n+ACK\r\nPUB $JS.ACK.S.c.1.2.2.1.0 4\r\n+ACK\r\n"]);
    expect(bulk.flushes).toBe(1);

    const each = fakeConnection(false);
    const fallback = new AckFlusher(each.nc, 1_000);
    await Promise.all([fallback.send("$JS.ACK.S.c.1.1.1.1.0", "+ACK"), fallback.send("$JS.ACK.S.c.1.2.2.1.0", "-NAK")]);
    expect(each.published).toEqual(["$JS.ACK.S.c.1.1.1.1.0 +ACK", "$JS.ACK.S.c.1.2.2.1.0 -NAK"]);
    expect(each.flushes).toBe(1);
  });

  it("ack flusher - the acks of one flush share one promise, and each delivery is settled before it resolves", async () => {
    const bulk = fakeConnection(true);
    const acks = new AckFlusher(bulk.nc, 1_000);
    const done: string[] = [];
    const host = { live: true, done: (d: NatsDelivery) => done.push(d.ackSubject), settle: notThisPath, requeue: notThisPath, storeDeadLetter: notThisPath, ackFor: (d: NatsDelivery) => acks.sendFor(d.ackSubject, "+ACK", d) };
    const a = delivery(host, 1);
    const b = delivery(host, 2);
    const pa = a.ack();
    const pb = b.ack();
    expect(pa).toBe(pb);
    expect([a.status, b.status]).toEqual(["settling", "settling"]);
    await pa;
    expect([a.status, b.status]).toEqual(["settled", "settled"]);
    expect(done).toEqual([a.ackSubject, b.ackSubject]);
    expect(bulk.commands).toEqual([`PUB ${a.ackSubject} 4\r\n+ACK\r\nPUB ${b.ackSubject} 4\r\n+ACK\r\n`]);
    // Settled: a second ack sends nothing more.
    await a.ack();
    expect(bulk.commands).toHaveLength(1);
  });

  it("ack flusher - a failed flush leaves its deliveries held to ack again, or settled with LeaseLostError once the link is gone", async () => {
    const failing = fakeConnection(true);
    let flushes = 0;
    (failing.nc as unknown as { flush: () => Promise<void> }).flush = () => (++flushes === 1 ? Promise.reject(new Error("no pong")) : Promise.resolve());
    const acks = new AckFlusher(failing.nc, 1_000);
    const host = { live: true, done: () => undefined, settle: notThisPath, requeue: notThisPath, storeDeadLetter: notThisPath, ackFor: (d: NatsDelivery) => acks.sendFor(d.ackSubject, "+ACK", d) };
    const d = delivery(host, 1);
    await expect(d.ack()).rejects.toThrow("no pong");
    expect(d.status).toBe("held");
    await d.ack();
    expect(d.status).toBe("settled");

    (failing.nc as unknown as { flush: () => Promise<void> }).flush = () => {
      host.live = false;
      return Promise.reject(new Error("closed"));
    };
    const lost = delivery(host, 2);
    host.live = true;
    await expect(lost.ack()).rejects.toBeInstanceOf(LeaseLostError);
    expect(lost.status).toBe("settled");
  });
});

const notThisPath = (): Promise<void> => Promise.reject(new Error("not this path"));

function delivery(host: DeliveryHost, seq: number): NatsDelivery {
  return new NatsDelivery("orders", "g", { headers: {}, body: new Uint8Array() }, undefined, `$JS.ACK.S.g.1.${seq}.${seq}.0.0`, { deliveries: 1, storedAt: 0, streamSeq: seq, attemptsBefore: 0 }, host);
}
