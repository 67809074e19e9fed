/** Public entry points refuse bad options with a clear, typed error. */
import { describe, expect, it } from "vitest";
import { ErrorCodes, defineMessage, missive } from "../../src/index.js";
import { redact } from "../../src/connect.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced } from "../conformance/contracts.js";
import { z } from "zod";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const config = { code: ErrorCodes.CONFIG };

describe("options", () => {
  it("missive - an unknown URL scheme is a ConfigurationError naming the supported ones, password redacted", async () => {
    const err = (await missive({ transport: "bogus://user:s3cret@127.0.0.1/x", service: "s" }).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject(config);
    expect(err.message).toContain("sqlite://");
    expect(err.message).not.toContain("s3cret");
  });

  it("redact - every URL's password, with or without a user name", () => {
    expect(redact("a redis://:pw1@h:6379/0 and amqp://u:pw2@h/v and nats://u@h")).toBe("a redis://:***@h:6379/0 and amqp://u:***@h/v and nats://u@h");
  });

  it("missive - a bad service name, bad limits or content mode are refused", async () => {
    const transport = createMemoryBroker().transport();
    await expect(missive({ transport, service: "" })).rejects.toMatchObject(config);
    await expect(missive({ transport, service: "__proto__ with spaces" })).rejects.toMatchObject(config);
    await expect(missive({ transport, service: "s", limits: { maxBodyBytes: -1 } })).rejects.toMatchObject(config);
    await expect(missive({ transport, service: "s", contentMode: "xml" as "binary" })).rejects.toMatchObject(config);
    await expect(missive({ transport, service: "s", publisher: { timeout: "soon" as "1s" } })).rejects.toMatchObject(config);
  });

  it("missive - bad spool, outage, breaker and rate-limit options are refused; a spool file that is not a spool is too", async () => {
    const transport = createMemoryBroker().transport();
    const bad: unknown[] = [
      { spool: "" }, { spool: ":memory:" }, { spool: { path: 5 } }, { spool: { path: "/tmp/x.db", maxMessages: 0 } },
      { spool: { path: "/tmp/x.db", maxBytes: -1 } }, { spool: { path: "/tmp/x.db", whenFull: "drop" } }, { spool: { path: "/tmp/x.db", lease: "0ms" } },
      { outageAfter: "0ms" }, { outageAfter: "later" }, { rateLimit: { perSecond: 0 } }, { rateLimit: { perSecond: 10, burst: 0.5 } },
      { rateLimit: { perSecond: Number.NaN } }, { spool: null },
    ];
    for (const publisher of bad) {
      await expect(missive({ transport, service: "s", publisher: publisher as never }), JSON.stringify(publisher)).rejects.toMatchObject(config);
    }
    const dir = mkdtempSync(join(tmpdir(), "missive-opt-"));
    try {
      const notSpool = join(dir, "other.db");
      writeFileSync(notSpool, "this is not a database at all, just text that is long enough to not be a header".repeat(20));
      // A fresh transport each: a bus that fails to open its spool closes the transport it connected.
      await expect(missive({ transport: createMemoryBroker().transport(), service: "s", publisher: { spool: notSpool } })).rejects.toMatchObject(config);
      await expect(missive({ transport: createMemoryBroker().transport(), service: "s", publisher: { spool: join(dir, "no", "such", "dir", "x.db") } })).rejects.toMatchObject(config);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("missive - an unopenable SQLite path is a ConfigurationError", async () => {
    await expect(missive({ transport: "sqlite:///proc/definitely/not/here.db", service: "s" })).rejects.toMatchObject(config);
  });

  it("consume - bad group, concurrency, prefetch, durations and a missing inbox are refused", async () => {
    const bus = await missive({ transport: createMemoryBroker().transport(), service: "s" });
    const h = (): void => {};
    expect(() => bus.consume(OrderPlaced, { group: "" }, h)).toThrow(expect.objectContaining(config));
    expect(() => bus.consume(OrderPlaced, { group: "__proto__" }, h)).toThrow(expect.objectContaining(config));
    expect(() => bus.consume(OrderPlaced, { group: "g", concurrency: 0 }, h)).toThrow(expect.objectContaining(config));
    expect(() => bus.consume(OrderPlaced, { group: "g", concurrency: 4, prefetch: 2 }, h)).toThrow(expect.objectContaining(config));
    expect(() => bus.consume(OrderPlaced, { group: "g", retry: { delays: ["5 minutes" as "5m"] } }, h)).toThrow(expect.objectContaining(config));
    // A transport object brings no inbox: "inbox" does not compile (test/unit/bus-inbox-types.test.ts); from JavaScript it throws.
    // @ts-expect-error no inbox on this bus
    expect(() => bus.consume(OrderPlaced, { group: "g", idempotency: "inbox" }, h)).toThrow(expect.objectContaining(config));
    expect(() => bus.consume([], { group: "g" }, h)).toThrow(expect.objectContaining(config));
    const Twin = defineMessage({ type: OrderPlaced.type, schema: z.object({}) });
    expect(() => bus.consume([OrderPlaced, Twin], { group: "g" }, h)).toThrow(expect.objectContaining(config));
    await bus.close();
  });

  it("bus - publishing after close is a ClosedError", async () => {
    const bus = await missive({ transport: createMemoryBroker().transport(), service: "s" });
    await bus.close();
    await expect(bus.publish(OrderPlaced, { orderId: "k", seq: 1, totalCents: 1 })).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  });
});
