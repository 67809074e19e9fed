import { describe, expect, it } from "vitest";
import { mayRefuse } from "./publisher.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("nats publisher", () => {
  it("publisher - a PubAck is parsed only when it may refuse the message: an object holding \"error\", or not an object", () => {
    expect(mayRefuse(bytes('{"stream":"ORDERS","seq":12}'))).toBe(false);
    expect(mayRefuse(bytes('{"stream":"ORDERS","seq":12,"duplicate":true}'))).toBe(false);
    expect(mayRefuse(bytes('{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"S","seq":0}'))).toBe(true);
    expect(mayRefuse(bytes('{"stream":"S","error":{"code":400}}'))).toBe(true);
    // A value spelled like the key is read in full: a parse too many, never one too few.
    expect(mayRefuse(bytes('{"stream":"S","domain":"error","seq":1}'))).toBe(true);
    expect(mayRefuse(bytes(""))).toBe(true);
    expect(mayRefuse(bytes("not json"))).toBe(true);
    expect(mayRefuse(bytes('{"err"'))).toBe(false);
  });
});
