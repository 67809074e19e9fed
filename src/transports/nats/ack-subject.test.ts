import { describe, expect, it } from "vitest";
import { parseAckSubject } from "./ack-subject.js";

describe("nats ack subject", () => {
  it("ack subject - stream, consumer, deliveries, sequence and store time (ms) from both forms", () => {
    const expected = { stream: "T_orders", consumer: "billing", deliveries: 2, streamSeq: 41, storedAt: 1_765_100_000_123 };
    expect(parseAckSubject("$JS.ACK.T_orders.billing.2.41.40.1765100000123456789.7")).toEqual(expected);
    expect(parseAckSubject("$JS.ACK.hub.ACCHASH.T_orders.billing.2.41.40.1765100000123456789.7.token")).toEqual(expected);
    expect(parseAckSubject("_INBOX.abc.def")).toBeUndefined();
    // More tokens than the pass notes dots for (a dozen) still read the same; seven dots are neither form.
    expect(parseAckSubject("$JS.ACK.hub.ACCHASH.T_orders.billing.2.41.40.1765100000123456789.7.a.b.c.d.e.f")).toEqual(expected);
    expect(parseAckSubject("$JS.ACK.T_orders.billing.2.41.40.1765100000123456789.7.extra")).toBeUndefined();
    // A store time of six digits or fewer is under a millisecond.
    expect(parseAckSubject("$JS.ACK.T_orders.billing.2.41.40.999999.7")?.storedAt).toBe(0);
  });

  it("ack subject - a blank or control character makes it no ack subject (acks go out as raw PUB lines)", () => {
    for (const bad of [" ", "\t", "\r", "\n", "\u0000", "\u007f"]) {
      expect(parseAckSubject(`$JS.ACK.T_orders.bil${bad}ling.2.41.40.1765100000123456789.7`)).toBeUndefined();
    }
  });
});
