import { describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/nats-core";
import { ProtocolHandler } from "@nats-io/nats-core/internal";
import { AckFlusher, frame } from "./ack-flusher.js";

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
});
