/** Failure signatures and payload search: the pure parts of the dead-letter views. */
import { describe, expect, it } from "vitest";
import { normaliseMessage, parseSignatureKey, signatureKey } from "../../src/dashboard/signature.js";
import { matchesPayload, parsePayloadSearch } from "../../src/dashboard/payload-search.js";
import { DashboardRequestError } from "../../src/dashboard/request-error.js";
import type { DeadLetter } from "../../src/transport/transport.js";

const entry = (body: string, headers: Record<string, string> = {}): DeadLetter => ({
  entryId: "1", messageId: "m", group: "g", topic: "t", key: undefined, deadLetteredAt: 0, wire: { headers, body: Buffer.from(body) },
});

describe("dashboard - failure signature", () => {
  it("dashboard - signature: ids, uuids, hex, numbers and quoted values become placeholders; the words stay", () => {
    expect(normaliseMessage("order o-42 rejected")).toBe("order <id> rejected");
    expect(normaliseMessage("order ORD-2024-0001 rejected")).toBe("order <id> rejected");
    expect(normaliseMessage("user 550e8400-e29b-41d4-a716-446655440000 not found")).toBe("user <uuid> not found");
    expect(normaliseMessage("object 5f1d7a3b9c2e4d6f8a0b1c2d gone")).toBe("object <hex> gone");
    expect(normaliseMessage("timed out after 30.5s (limit 250ms), 3 tries")).toBe("timed out after <num> (limit <num>), <num> tries");
    expect(normaliseMessage(`bad value "a b c" for 'sku' - don't retry`)).toBe("bad value <str> for <str> - don't retry");
    expect(normaliseMessage("  spaces\n\tfolded  ")).toBe("spaces folded");
    expect(normaliseMessage(undefined)).toBe("");
    // Two messages that differ only by their ids are one group; a different failure is another.
    expect(normaliseMessage("order o-1 rejected")).toBe(normaliseMessage("order x_97 rejected"));
    expect(normaliseMessage("order o-1 rejected")).not.toBe(normaliseMessage("order o-1 out of stock"));
  });

  it("dashboard - signature: a huge message makes a bounded pattern", () => {
    expect(normaliseMessage(`boom ${"word ".repeat(10_000)}`).length).toBeLessThanOrEqual(300);
  });

  it("dashboard - signature: a key round-trips; anything else is not a key", () => {
    const s = { type: "t", errorCode: undefined, errorClass: "E", pattern: "p <id>" };
    expect(parseSignatureKey(signatureKey(s))).toEqual(s);
    for (const bad of ["", "nope", "[1,2,3,4]", '["t",null,null]', '{"type":"t"}']) expect(parseSignatureKey(bad)).toBeUndefined();
  });
});

describe("dashboard - payload search", () => {
  it("dashboard - search: field=value matches a top-level or dotted field of the data, as text", () => {
    const e = entry(JSON.stringify({ orderId: "o-42", total: 12, customer: { id: "c-7" }, lines: [{ sku: "X" }] }), { "content-type": "application/json" });
    expect(matchesPayload(e, parsePayloadSearch("orderId=o-42"))).toBe(true);
    expect(matchesPayload(e, parsePayloadSearch("orderId=o-4"))).toBe(false);
    expect(matchesPayload(e, parsePayloadSearch("total=12"))).toBe(true);
    expect(matchesPayload(e, parsePayloadSearch("customer.id=c-7"))).toBe(true);
    expect(matchesPayload(e, parsePayloadSearch("lines.0.sku=X"))).toBe(true);
    expect(matchesPayload(e, parsePayloadSearch("customer=c-7"))).toBe(false);
    expect(matchesPayload(e, parsePayloadSearch("missing=1"))).toBe(false);
    expect(matchesPayload(entry("\xff\xfe not json"), parsePayloadSearch("a=b"))).toBe(false);
  });

  it("dashboard - search: a structured CloudEvent is searched in its data, not its wrapper", () => {
    const doc = { specversion: "1.0", id: "m1", source: "s", type: "t", data: { orderId: "o-9" } };
    const e = entry(JSON.stringify(doc), { "content-type": "application/cloudevents+json" });
    expect(matchesPayload(e, parsePayloadSearch("orderId=o-9"))).toBe(true);
    expect(matchesPayload(e, parsePayloadSearch("id=m1"))).toBe(false);
  });

  it("dashboard - search: what is not field=value, or reaches for a prototype, is a 400", () => {
    for (const bad of ["orderId", "=x", "a..b=1", "__proto__.x=1", "constructor=1"]) {
      expect(() => parsePayloadSearch(bad)).toThrow(DashboardRequestError);
    }
    expect(parsePayloadSearch("note=a=b")).toEqual({ path: ["note"], value: "a=b" });
  });
});
