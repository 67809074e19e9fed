/**
 * Acks without a round trip each. An ack is a publish to its ack subject;
 * `settle` resolves once the server answered a PING sent after it (the
 * server reads a connection in order, so the ack was received). A request
 * per ack (the server's `AckAck` reply) costs a reply subscription and a
 * round trip per message: more than half the consume rate in
 * `bench/nats-quick.ts`.
 *
 * The acks of one turn of the event loop are held until its check phase
 * (setImmediate), then written with their one PING in a single socket
 * write: the client writes every flush at once, so a PING per microtask
 * tick cost a write and a PONG for every few acks (the handlers of one
 * socket read finish in many ticks), about a tenth of the consume CPU.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { ConnectionError } from "../../errors.js";

/** The few ack bodies (`+ACK`, `-NAK`, `+WPI`), encoded once: the client encodes a string payload on every publish. */
const bodies = new Map<string, Uint8Array>();

function encoded(body: string): Uint8Array {
  let bytes = bodies.get(body);
  if (bytes === undefined) {
    bytes = new TextEncoder().encode(body);
    if (bodies.size < 16) bodies.set(body, bytes);
  }
  return bytes;
}

export class AckFlusher {
  /** Held acks: subjects and bodies side by side, no object per ack. */
  private subjects: string[] = [];
  private bodies: string[] = [];
  private pending: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {}

  /** Send `body` to `ackSubject`; resolves once the server has it. Rejects with ConnectionError when it cannot tell. */
  send(ackSubject: string, body: string): Promise<void> {
    this.subjects.push(ackSubject);
    this.bodies.push(body);
    this.pending ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    return this.pending;
  }

  /** Publish the held acks and PING after them; a publish the client refuses (closed connection) rejects them all. */
  private flush(): Promise<void> {
    const { subjects, bodies } = this;
    this.subjects = [];
    this.bodies = [];
    this.pending = undefined;
    for (let i = 0; i < subjects.length; i++) this.nc.publish(subjects[i]!, encoded(bodies[i]!));
    return this.ping();
  }

  private ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectionError(`nats: the server did not confirm an ack within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([this.nc.flush(), timeout]).finally(() => clearTimeout(timer));
  }
}
