/** Helpers for the RabbitMQ transport tests: a vhost of its own per test, transports closed after it. */
import { afterEach, beforeAll, beforeEach } from "vitest";
import { rabbitmqTransport, type RabbitmqTransport, type RabbitmqTransportOptions } from "../../src/transports/rabbitmq/index.js";
import { shouldSkip } from "../faults/harness/skip.js";
import { createVhost, rabbitmqMissing, type TestVhost } from "../support/rabbitmq.js";
export { bodies, bodyOf, message, subOptions, wire } from "./sqlite-support.js";
export { receiveAtLeast } from "../support/receive.js";

export interface RabbitmqFixture {
  /** Whether the broker is missing and the tests should skip (never under CI=true). */
  skip(): boolean;
  vhost(): TestVhost;
  open(options?: Partial<RabbitmqTransportOptions>): RabbitmqTransport;
}

export function rabbitmqFixture(): RabbitmqFixture {
  let missing: string | undefined;
  let skip = false;
  let current: TestVhost | undefined;
  const transports: RabbitmqTransport[] = [];
  beforeAll(async () => {
    missing = await rabbitmqMissing();
    skip = shouldSkip(missing, "rabbitmq transport");
  });
  beforeEach(async () => {
    if (!skip) current = await createVhost("transport");
  });
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close().catch(() => undefined)));
    await current?.remove();
    current = undefined;
  });
  return {
    skip: () => skip,
    vhost: () => {
      if (!current) throw new Error(missing ?? "no vhost");
      return current;
    },
    open(options = {}) {
      const t = rabbitmqTransport({ url: this.vhost().url, reconnectMaxMs: 500, ...options });
      transports.push(t);
      return t;
    },
  };
}
