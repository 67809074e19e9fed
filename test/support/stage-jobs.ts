/** Jobs and deliveries for unit tests of the delivery stages (src/middleware/*.test.ts), no broker involved. */
import type { Envelope } from "../../src/envelope/envelope.js";
import { Job } from "../../src/runtime/outcome.js";
import type { Delivery } from "../../src/transport/transport.js";

/** A delivery that records its settles; `refuse` makes every settle reject with it. */
export class FakeDelivery implements Delivery {
  readonly topic = "t";
  readonly group = "g";
  readonly wire = { headers: { "ce-id": "m1" } as Record<string, string>, body: Buffer.from("{}") };
  readonly key: string | undefined = undefined;
  readonly attempt = 1;
  readonly settles: string[] = [];
  refuse: Error | undefined;

  ack(): Promise<void> {
    return this.record("ack");
  }
  retry(delayMs: number): Promise<void> {
    return this.record(`retry ${delayMs}`);
  }
  deadLetter(): Promise<void> {
    return this.record("deadLetter");
  }
  release(): Promise<void> {
    return this.record("release");
  }

  private record(what: string): Promise<void> {
    if (this.refuse) return Promise.reject(this.refuse);
    this.settles.push(what);
    return Promise.resolve();
  }
}

export function envelope(id = "m1"): Envelope {
  return {
    id, source: "test", type: "t", specversion: "1.0", time: new Date(0).toISOString(), datacontenttype: "application/json",
    dataschema: "t/v1", extensions: {}, data: {},
  };
}

export function job(options: { key?: string; attempt?: number; delivery?: Delivery } = {}): Job {
  return new Job(options.delivery ?? new FakeDelivery(), envelope(), options.key, options.attempt ?? 1, undefined);
}
