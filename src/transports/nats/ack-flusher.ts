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
 *
 * The held acks go to the client as one frame of `PUB` lines, encoded once:
 * through `publish` each ack cost a subject check (a regular expression), a
 * `PUB` line encoded on its own and three buffers the client then copies
 * together, per consumed message. The bytes on the wire are the same.
 *
 * A delivery's ack waits through `sendFor`: the flush's outcome is handed to
 * each of its waiters in one loop, and they all share one promise, instead
 * of a `then` (a promise, two closures and a microtask turn) per ack.
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

/**
 * What the flusher uses of the client's protocol handler (`NatsConnectionImpl.protocol` in @nats-io/nats-core 3.x):
 * it queues a command's bytes behind everything published before, as `publish` does.
 */
interface ProtocolWriter {
  sendCommand(cmd: string | Uint8Array): void;
  readonly noMorePublishing: boolean;
}

function writerOf(nc: NatsConnection): ProtocolWriter | undefined {
  const protocol = (nc as unknown as { readonly protocol?: Partial<ProtocolWriter> }).protocol;
  return typeof protocol?.sendCommand === "function" && typeof protocol.noMorePublishing === "boolean" ? (protocol as ProtocolWriter) : undefined;
}

/**
 * `PUB <subject> <size>` and the body, for each ack: the lines `publish` sends for it. Every subject is a delivery's
 * reply that parseAckSubject accepted, which refuses blanks and control characters (what the client's check looks
 * for), so none can break a line.
 */
export function frame(subjects: readonly string[], bodies: readonly string[]): string {
  let text = "";
  for (let i = 0; i < subjects.length; i++) {
    const body = bodies[i]!;
    text += `PUB ${subjects[i]!} ${encoded(body).length}\r\n${body}\r\n`;
  }
  return text;
}

/** What waits on an ack's confirm without a promise of its own (a delivery): told once the flush that carried it ends. */
export interface AckWaiter {
  /** The server has the ack. */
  confirmed(): void;
  /** The ack's flush failed with `err`; returns the error the waiter's caller is to see. */
  failed(err: unknown): unknown;
}

export class AckFlusher {
  /** Held acks: subjects and bodies side by side, no object per ack. */
  private subjects: string[] = [];
  private bodies: string[] = [];
  private pending: Promise<void> | undefined;
  /** The waiters of the held acks (sendFor), and the promise they share. */
  private waiters: AckWaiter[] = [];
  private waited: Promise<void> | undefined;
  /** Undefined with a client that has no such handler: each ack is then a `publish`. */
  private readonly writer: ProtocolWriter | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.writer = writerOf(nc);
  }

  /** Send `body` to `ackSubject`; resolves once the server has it. Rejects with ConnectionError when it cannot tell. */
  send(ackSubject: string, body: string): Promise<void> {
    this.subjects.push(ackSubject);
    this.bodies.push(body);
    this.pending ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    return this.pending;
  }

  /**
   * As send, and `waiter` is told the outcome (confirmed or failed) before the returned promise settles. Every waiter
   * of one flush gets the same promise; failed, it rejects with what the last waiter's `failed` returned, so the
   * waiters of one flusher must answer one failure alike (the deliveries of one subscription do: one group, one
   * connection).
   */
  sendFor(ackSubject: string, body: string, waiter: AckWaiter): Promise<void> {
    const sent = this.send(ackSubject, body);
    this.waiters.push(waiter);
    if (this.waited === undefined) {
      const waiters = this.waiters;
      this.waited = sent.then(
        () => {
          for (const w of waiters) w.confirmed();
        },
        (err: unknown) => {
          let out = err;
          for (const w of waiters) out = w.failed(err);
          throw out;
        },
      );
    }
    return this.waited;
  }

  /** Publish the held acks and PING after them; a publish the client refuses (closed connection) rejects them all. */
  private flush(): Promise<void> {
    const { subjects, bodies } = this;
    this.subjects = [];
    this.bodies = [];
    this.pending = undefined;
    this.waiters = [];
    this.waited = undefined;
    const writer = this.writer;
    // Closed or draining: `publish` throws the client's own error for it, which rejects the acks as before.
    if (writer === undefined || writer.noMorePublishing || this.nc.isClosed()) {
      for (let i = 0; i < subjects.length; i++) this.nc.publish(subjects[i]!, encoded(bodies[i]!));
    } else {
      writer.sendCommand(frame(subjects, bodies));
    }
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
