import { describe, expect, it } from "vitest";
import type { Msg } from "@nats-io/nats-core";
import { fromNatsHeaders, fromNatsMessage, natsHeaderBlock, toNatsHeaders } from "./headers.js";

describe("nats headers", () => {
  it("headers - wire headers, topic and attempts travel and come back; Nats-* stay the server's", () => {
    const wire = { "ce-id": "m1", "ce-type": "order.placed", "x-multi": "a\r\nb", "x-blank": "  padded  ", "x-encoded-looking": "=?UTF-8?B?eA==?=", "x-empty": "" };
    const h = toNatsHeaders(wire, "m1", "orders", 2);
    expect(h.get("Nats-Msg-Id")).toBe("m1");
    expect(fromNatsHeaders(h)).toEqual({ headers: wire, topic: "orders", attemptsBefore: 2 });
  });

  it("headers - a publish's header block is the bytes the client's own headers encode to", () => {
    const clientBytes = (h: unknown): string => Buffer.from((h as { encode(): Uint8Array }).encode()).toString("hex");
    const bytes = (b: { bytes: Uint8Array }): string => Buffer.from(b.bytes).toString("hex");
    const wire = { "ce-id": "é-1", "ce-source": "bench", "x-multi": "a\r\nb", "x-blank": "  padded  ", "x-encoded-looking": "=?UTF-8?B?eA==?=", "x-empty": "" };
    for (const [id, topic, attempts] of [["é-1", undefined, 0], [undefined, "orders", 2], ["m1", "orders", 0], [undefined, undefined, 0]] as const) {
      expect(bytes(natsHeaderBlock(wire, id, topic, attempts))).toEqual(clientBytes(toNatsHeaders(wire, id, topic, attempts)));
    }
    // A record's header under a name set from the arguments is replaced, as the client's set() does.
    const clashing = { "ce-id": "m1", "missive-nats-topic": "old", "Nats-Msg-Id": "old" };
    expect(bytes(natsHeaderBlock(clashing, "m1", "orders"))).toEqual(clientBytes(toNatsHeaders(clashing, "m1", "orders")));
    expect(bytes(natsHeaderBlock({}, undefined, undefined))).toEqual(clientBytes(toNatsHeaders({}, undefined, undefined)));
    // A name the client refuses is refused.
    expect(() => natsHeaderBlock({ "bad name": "x" }, undefined, undefined)).toThrow(/not a valid character/);
    expect(() => toNatsHeaders({ "bad name": "x" }, undefined, undefined)).toThrow(/not a valid character/);
  });

  it("headers - a delivery's header block read in one pass gives what the client's headers give", () => {
    const wire = { "ce-id": "m1", "ce-type": "order.placed", "x-multi": "a\r\nb", "x-blank": "  padded  ", toString: "named like a method", "x-empty": "" };
    const h = toNatsHeaders(wire, "m1", "orders", 3);
    const block = (h as unknown as { encode(): Uint8Array }).encode();
    const body = new TextEncoder().encode("{}");
    const frame = new Uint8Array(block.byteLength + body.byteLength);
    frame.set(block);
    frame.set(body, block.byteLength);
    // The 3.x client's received message: its frame's bytes and where the header block ends.
    const msg = { _rdata: frame, _msg: { hdr: block.byteLength }, headers: h } as unknown as Msg;
    expect(fromNatsMessage(msg)).toEqual(fromNatsHeaders(h));
    expect(fromNatsMessage(msg)).toEqual({ headers: wire, topic: "orders", attemptsBefore: 3 });
    // The frame as the client hands it over from a socket read (a Buffer view): read the same.
    const fromSocket = Buffer.concat([Buffer.from("PAD"), frame]).subarray(3);
    expect(fromNatsMessage({ _rdata: fromSocket, _msg: { hdr: block.byteLength } } as unknown as Msg)).toEqual({ headers: wire, topic: "orders", attemptsBefore: 3 });
    // A client without those fields is read through its headers.
    expect(fromNatsMessage({ headers: h } as unknown as Msg)).toEqual({ headers: wire, topic: "orders", attemptsBefore: 3 });
  });

  it("headers - a header block read by index: server headers in any case skipped, blanks trimmed, the first value wins, odd lines ignored", () => {
    const block = new TextEncoder().encode(
      "NATS/1.0\r\nA: 1\r\nA: 2\r\nnats-x: y\r\nNATS-Expected: q\r\nnatsy: k\r\n:no name\r\nno colon\r\nb:\t tab \t\r\nc:  two spaces\r\n" +
        "missive-nats-topic: t1\r\nmissive-nats-topic: t2\r\nmissive-nats-attempts-before: 4\r\nd: =?UTF-8?B?w6k=?=\r\n\r\n",
    );
    const msg = { _rdata: block, _msg: { hdr: block.byteLength } } as unknown as Msg;
    expect(fromNatsMessage(msg)).toEqual({ headers: { A: "1", natsy: "k", b: "tab", c: "two spaces", d: "é" }, topic: "t1", attemptsBefore: 4 });
  });

  it("headers - a delivery's headers are a null-prototype record: a header named __proto__ is kept, none is inherited (regression: {} dropped it)", () => {
    const block = new TextEncoder().encode("NATS/1.0\r\n__proto__: p\r\nce-id: m1\r\n\r\n");
    const read = fromNatsMessage({ _rdata: block, _msg: { hdr: block.byteLength } } as unknown as Msg);
    expect(Object.getPrototypeOf(read.headers)).toBeNull();
    expect(Object.hasOwn(read.headers, "__proto__")).toBe(true);
    expect(read.headers["__proto__"]).toBe("p");
    expect(Object.keys(read.headers)).toEqual(["__proto__", "ce-id"]);
    const viaClient = fromNatsHeaders(toNatsHeaders(Object.fromEntries([["__proto__", "p"]]), undefined, undefined));
    expect(Object.getPrototypeOf(viaClient.headers)).toBeNull();
    expect(Object.keys(viaClient.headers)).toEqual(["__proto__"]);
  });
});
