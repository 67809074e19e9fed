import { describe, expect, it } from "vitest";
import { fromNatsHeaders, headerBytes, toNatsHeaders } from "./headers.js";

describe("nats headers", () => {
  it("headers - wire headers, topic and attempts travel and come back; Nats-* stay the server's", () => {
    const wire = { "ce-id": "m1", "ce-type": "order.placed", "x-multi": "a\r\nb", "x-blank": "  padded  ", "x-encoded-looking": "=?UTF-8?B?eA==?=", "x-empty": "" };
    const h = toNatsHeaders(wire, "m1", "orders", 2);
    expect(h.get("Nats-Msg-Id")).toBe("m1");
    expect(fromNatsHeaders(h)).toEqual({ headers: wire, topic: "orders", attemptsBefore: 2 });
  });

  it("headers - headerBytes is the size of the header block the client sends", () => {
    const h = toNatsHeaders({ "ce-id": "é-1", "ce-source": "bench" }, "é-1", undefined);
    // The client's own encoding of the block (MsgHdrsImpl.encode, not in the MsgHdrs type).
    const encoded = (h as unknown as { encode(): Uint8Array }).encode();
    expect(headerBytes(h)).toBe(encoded.byteLength);
  });
});
