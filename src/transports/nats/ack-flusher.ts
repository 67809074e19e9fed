/**
 * Acks without a round trip each. An ack is a publish to its ack subject;
 * `settle` resolves once the server answered a PING sent after it (the
 * server reads a connection in order, so the ack was received). The acks
 * of one tick share one PING. A request per ack (the server's `AckAck`
 * reply) costs a reply subscription and a round trip per message: more
 * than half the consume rate in `bench/nats-quick.ts`.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { ConnectionError } from "../../errors.js";

export class AckFlusher {
  private pending: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {}

  /** Send `body` to `ackSubject`; resolves once the server has it. Rejects with ConnectionError when it cannot tell. */
  send(ackSubject: string, body: string): Promise<void> {
    this.nc.publish(ackSubject, body);
    this.pending ??= new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => {
      this.pending = undefined;
      return this.ping();
    });
    return this.pending;
  }

  private ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectionError(`nats: the server did not confirm an ack within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([this.nc.flush(), timeout]).finally(() => clearTimeout(timer));
  }
}
