import { describe, expect, it } from "vitest";
import { KNOWN_ATTRIBUTES, dataschemaOf, versionOf } from "../../src/envelope/envelope.js";

describe("envelope", () => {
  it("envelope - dataschemaOf names type and version", () => {
    expect(dataschemaOf("order.created", 2)).toBe("order.created/v2");
  });

  it("envelope - versionOf reads back what dataschemaOf wrote", () => {
    for (const v of [1, 2, 10, 999_999_999]) expect(versionOf(dataschemaOf("a.b/c", v))).toBe(v);
  });

  it.each([
    ["order.created/v0", 0],
    ["https://schemas.example.com/order.created/v3", 3],
    ["order.created/v007", 7],
  ])("envelope - versionOf(%j) is %d", (schema, version) => {
    expect(versionOf(schema)).toBe(version);
  });

  it.each([undefined, "", "order.created", "order.created/v", "order.created/v2/x", "order.created/V2", "order.created/v-1", "order.created/v1.5", "v2", "order.created/v1234567890"])(
    "envelope - versionOf(%j) names no version",
    (schema) => {
      expect(versionOf(schema)).toBeUndefined();
    },
  );

  it("envelope - the known attributes are the CloudEvents core plus missive's, never an extension", () => {
    for (const a of ["id", "source", "type", "specversion", "time", "datacontenttype", "dataschema", "key", "correlationid", "causationid", "replyto", "traceparent", "tracestate", "data", "data_base64", "subject"]) {
      expect(KNOWN_ATTRIBUTES.has(a), a).toBe(true);
    }
    expect(KNOWN_ATTRIBUTES.has("myext")).toBe(false);
  });
});
