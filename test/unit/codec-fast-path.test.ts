import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeEnvelope, type DecodeResult } from "../../src/envelope/codec.js";
import { DEFAULT_LIMITS } from "../../src/envelope/limits.js";
import { toHeaderRecord } from "../../src/envelope/wire.js";

/*
 * The binary decoder picks the usual attribute headers out in its one walk of the headers (its fast path), and walks them again only
 * when some other `ce-` header is present. `ce-data` is such a header that changes nothing in the result
 * (`data` is no header attribute), so a message decoded with and without it must come out the same:
 * every check, its order, its error and the envelope's shape are the general walk's.
 */

const value = fc.oneof(
  fc.constantFrom("", "x", "1.0", "0.3", "5", "12", "2026-11-23T15:50:12.123Z", "2026-02-30T00:00:00Z", "application/json", "text/plain", "a\u0007b", "\u009f"),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ minLength: 250, maxLength: 260 }),
);
const attributeNames = ["id", "source", "type", "specversion", "time", "dataschema", "key", "correlationid", "causationid", "replyto", "expiresat", "priority"];
const headerSet = fc.record(
  {
    ...Object.fromEntries(attributeNames.map((a) => [`ce-${a}`, value])),
    "content-type": fc.constantFrom("application/json", "application/cloudevents-batch+json", "text/plain", "application/vnd.x+json; charset=utf-8"),
    traceparent: value,
    tracestate: value,
  },
  { requiredKeys: [] },
);
const wellFormed = fc.record({
  "ce-id": fc.constant("0190b6d8-3f3a-7c1e-8f3a-0123456789ab"),
  "ce-source": fc.constantFrom("checkout", "", "a\u0001"),
  "ce-type": fc.constant("order.created"),
  "ce-specversion": fc.constantFrom("1.0", "0.3"),
});
const body = fc.constantFrom("", '{"a":1}', "[1,2", '{"__proto__":{}}', "null", "\u00ff");

function outcome(result: DecodeResult): unknown {
  if (result.ok) return { ok: true, envelope: result.envelope, keys: Object.keys(result.envelope) };
  return { ok: false, error: result.error.constructor.name, message: result.error.message, id: result.id, type: result.type };
}

describe("codec - binary fast path", () => {
  it("decodes every message as the general walk does (same envelope and shape, same error)", () => {
    fc.assert(
      fc.property(wellFormed, headerSet, body, (base, extra, text) => {
        const entries = { ...base, ...extra };
        const wire = { headers: toHeaderRecord(Object.entries(entries)), body: Buffer.from(text, "latin1") };
        const walked = { headers: toHeaderRecord([...Object.entries(entries), ["ce-data", "ignored"]]), body: wire.body };
        expect(outcome(decodeEnvelope(wire, DEFAULT_LIMITS))).toEqual(outcome(decodeEnvelope(walked, DEFAULT_LIMITS)));
      }),
      { numRuns: 3000 },
    );
  });

  it("a remembered good type, source, dataschema or content type lets no bad value through after it", () => {
    const h = (over: Record<string, string>) =>
      toHeaderRecord(Object.entries({ "ce-id": "i", "ce-source": "s", "ce-type": "t", "ce-specversion": "1.0", "ce-dataschema": "t/v1", "content-type": "application/json", ...over }));
    const decode = (over: Record<string, string>) => decodeEnvelope({ headers: h(over), body: Buffer.from("1") }, DEFAULT_LIMITS);
    expect(decode({}).ok).toBe(true);
    for (const [over, message] of [
      [{ "ce-source": "s\u0000" }, "attribute source has a control character"],
      [{ "ce-type": "t\u0085" }, "attribute type has a control character"],
      [{ "ce-dataschema": "t/v1\u001b" }, "attribute dataschema has a control character"],
      [{ "content-type": "application/json; v=\u007f" }, "attribute datacontenttype has a control character"],
    ] as const) {
      const result = decode(over);
      expect(result.ok ? "decoded" : result.error.message).toBe(message);
      expect(decode({}).ok).toBe(true);
    }
  });
});
