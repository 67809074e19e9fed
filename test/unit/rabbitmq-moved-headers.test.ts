import { describe, expect, it } from "vitest";
import { emptyHeaders, type WireMessage } from "../../src/envelope/wire.js";
import { fromAmqpMessage, toAmqpProperties } from "../../src/transports/rabbitmq/amqp-headers.js";
import { MOVED_HEADER, MOVED_NAMES_HEADER, TABLE_BUDGET, fitHeaderTable, restoreMoved } from "../../src/transports/rabbitmq/moved-headers.js";

function wire(headers: Record<string, string>, body = "{}"): WireMessage {
  const h = emptyHeaders();
  Object.assign(h, headers);
  return { headers: h, body: new Uint8Array(Buffer.from(body)) };
}

/** What amqplib would encode: the table length, then per entry a name and a long string. */
function tableBytes(headers: Readonly<Record<string, unknown>>): number {
  let n = 4;
  for (const name in headers) n += 1 + Buffer.byteLength(name) + 1 + 4 + Buffer.byteLength(String(headers[name]));
  return n;
}

/** A received message as amqplib hands it over, from what the publisher would send for `w`. */
function received(w: WireMessage): { properties: ReturnType<typeof toAmqpProperties>; content: Buffer } {
  return { properties: toAmqpProperties(w.headers), content: Buffer.from(w.body) };
}

describe("rabbitmq moved headers", () => {
  it("rabbitmq - headers that fit the table are published as they are (no copy)", () => {
    const w = wire({ "ce-id": "a", "ce-type": "t", "content-type": "application/json", "missive-reason": "poison" });
    expect(fitHeaderTable(w).wire).toBe(w);
  });

  it("rabbitmq - diagnostics past amqplib's 64 KiB table: the originals that do not fit move into the body, diagnostics stay, a receiver restores them all", () => {
    const headers: Record<string, string> = { "ce-id": "m1", "ce-type": "t", "content-type": "application/json" };
    for (let i = 0; i < 5350; i++) headers[`h${String(i).padStart(4, "0")}`] = String(i % 10);
    headers["missive-error-stack"] = "s".repeat(2048);
    headers["missive-reason"] = "permanent";
    headers["x-missive-dlq-entry"] = "e1";
    const { wire: fitted, moved } = fitHeaderTable(wire(headers, '{"n":0}'));
    expect(moved.length).toBeGreaterThan(0);
    const properties = toAmqpProperties(fitted.headers);
    expect(tableBytes(properties.headers!)).toBeLessThanOrEqual(TABLE_BUDGET);
    // Missive's own headers and the attributes are never the ones moved.
    expect(moved.filter((n) => n.startsWith("missive-") || n.startsWith("x-missive-") || n.startsWith("ce-"))).toEqual([]);
    expect(fitted.headers[MOVED_NAMES_HEADER]).toMatch(new RegExp(`^${moved.length} headers moved into the body: "h`));
    expect(Buffer.byteLength(fitted.headers[MOVED_NAMES_HEADER]!)).toBeLessThanOrEqual(1024);

    const back = fromAmqpMessage(received(fitted));
    const { "x-missive-dlq-entry": _private, ...visible } = headers;
    expect({ ...back.headers }).toEqual(visible);
    expect(Buffer.from(back.body).toString()).toBe('{"n":0}');
  });

  it("rabbitmq - a header whose AMQP name would pass 255 bytes, and a content type past 255 bytes, move instead of failing the publish", () => {
    const long = `ce-${"x".repeat(250)}`; // cloudEvents_ + 250 = 262 bytes on AMQP
    const type = `application/${"y".repeat(300)}`;
    const { wire: fitted, moved } = fitHeaderTable(wire({ "ce-id": "a", [long]: "v", "content-type": type }));
    expect(moved.sort()).toEqual(["content-type", long].sort());
    expect(() => toAmqpProperties(fitted.headers)).not.toThrow();
    const back = fromAmqpMessage(received(fitted));
    expect(back.headers[long]).toBe("v");
    expect(back.headers["content-type"]).toBe(type);
  });

  it("rabbitmq - a forged or broken move marker from a plain client is ignored: the body arrives as it was sent", () => {
    const body = new Uint8Array(Buffer.from('{"a":"b"}rest'));
    for (const marker of ["0", "-3", "1e9", "abc", String(body.byteLength + 1), "4", ""]) expect(restoreMoved({ [MOVED_HEADER]: marker }, body), marker).toBeUndefined();
    expect(restoreMoved({ [MOVED_HEADER]: "9" }, new Uint8Array(Buffer.from('{"a":1}xx')))).toBeUndefined();
    expect(restoreMoved({ [MOVED_HEADER]: "2" }, new Uint8Array(Buffer.from("[]x")))).toBeUndefined();
    expect(restoreMoved(null, body)).toBeUndefined();
    const ok = restoreMoved({ [MOVED_HEADER]: 9 }, body);
    expect(ok && { ...ok.headers }).toEqual({ a: "b" });
    expect(ok && Buffer.from(ok.body).toString()).toBe("rest");
    // Private names in a prefix never become headers of the message.
    const prefix = '{"x-missive-attempts":"9000"}';
    const priv = restoreMoved({ [MOVED_HEADER]: String(Buffer.byteLength(prefix)) }, new Uint8Array(Buffer.from(prefix)));
    expect(priv && { ...priv.headers }).toEqual({});
    // What the table carries wins over a moved header of the same name.
    const both = fromAmqpMessage({ properties: { headers: { [MOVED_HEADER]: "9", a: "table" } }, content: Buffer.from('{"a":"b"}rest') });
    expect(both.headers["a"]).toBe("table");
  });
});
