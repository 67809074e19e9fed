import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { bodyOf, sqliteFixture, subOptions } from "./sqlite-support.js";

describe("sqlite transport - plain better-sqlite3 clients", () => {
  const fx = sqliteFixture();

  it("sqlite - a row inserted by a plain client is delivered, ordered by key, headers and body intact", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("billing", ["order.created"]));
    const plain = new Database(fx.dbPath());
    try {
      plain.pragma("busy_timeout = 5000");
      const insert = plain.prepare("INSERT INTO missive_queue (group_name, topic, message_id, key, headers, body) VALUES (?, ?, ?, ?, ?, ?)");
      const headers = (id: string): string =>
        JSON.stringify({ "ce-id": id, "ce-source": "plain", "ce-type": "order.created", "ce-specversion": "1.0", "content-type": "application/json" });
      insert.run("billing", "order.created", "p1", "K", headers("p1"), Buffer.from('{"orderId":"1"}'));
      insert.run("billing", "order.created", "p2", "K", headers("p2"), Buffer.from('{"orderId":"2"}'));
    } finally {
      plain.close();
    }
    const [d, ...rest] = await sub.receive(10, 3000);
    expect(rest).toEqual([]); // p2 waits behind p1: same key
    expect(d).toMatchObject({ topic: "order.created", group: "billing", key: "K", attempt: 1 });
    expect(d!.wire.headers["ce-id"]).toBe("p1");
    expect(d!.wire.headers["ce-source"]).toBe("plain");
    expect(bodyOf(d!)).toBe('{"orderId":"1"}');
    await d!.ack();
    const [next] = await sub.receive(10, 1000);
    expect(next!.wire.headers["ce-id"]).toBe("p2");
    await next!.ack();
  });

  it("sqlite - the documented plain-client publish fans out to every bound group", async () => {
    const t = fx.open();
    const billing = await t.subscribe(subOptions("billing", ["order.created"]));
    const audit = await t.subscribe(subOptions("audit", ["order.created"]));
    const plain = new Database(fx.dbPath());
    try {
      plain.pragma("busy_timeout = 5000");
      const headers = { "ce-id": "legacy-1", "ce-source": "legacy-app", "ce-type": "order.created", "ce-specversion": "1.0", "ce-key": "4821", "content-type": "application/json" };
      const insert = plain.prepare(`INSERT INTO missive_queue (group_name, topic, message_id, key, headers, body)
                                    SELECT group_name, ?, ?, ?, ?, ? FROM missive_bindings WHERE topic = ?`);
      const info = insert.run("order.created", headers["ce-id"], "4821", JSON.stringify(headers), Buffer.from('{"orderId":"4821"}'), "order.created");
      expect(info.changes).toBe(2);
    } finally {
      plain.close();
    }
    for (const sub of [billing, audit]) {
      const [d] = await sub.receive(1, 3000);
      expect(d).toMatchObject({ key: "4821", attempt: 1 });
      expect(d!.wire.headers["ce-source"]).toBe("legacy-app");
      await d!.ack();
    }
  });

  it("sqlite - a plain client reads what missive published: headers as JSON text, body as a BLOB", async () => {
    const t = fx.open();
    await t.bind("billing", ["order.created"]);
    const body = Buffer.from([0x7b, 0x7d, 0x00, 0xff]);
    await t.publish([{ topic: "order.created", id: "m1", key: "K", wire: { headers: { "ce-id": "m1", "ce-type": "order.created" }, body } }]);
    const plain = new Database(fx.dbPath(), { readonly: true });
    try {
      const row = plain.prepare("SELECT group_name, topic, message_id, key, headers, body, attempts, lease_token FROM missive_queue").get() as Record<string, unknown>;
      expect(row).toMatchObject({ group_name: "billing", topic: "order.created", message_id: "m1", key: "K", attempts: 0, lease_token: null });
      expect(JSON.parse(row["headers"] as string)).toEqual({ "ce-id": "m1", "ce-type": "order.created" });
      expect(Buffer.isBuffer(row["body"]) && (row["body"] as Buffer).equals(body)).toBe(true);
    } finally {
      plain.close();
    }
  });

  it("sqlite - a row whose headers are not a JSON object is still delivered, the text kept in a diagnostic header", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"]));
    t.database.prepare("INSERT INTO missive_queue (group_name, topic, message_id, headers, body) VALUES ('g', 't', 'bad', 'not json', 'text body')").run();
    const [d] = await sub.receive(1, 1000);
    expect(d!.wire.headers["x-missive-bad-headers"]).toBe("not json");
    expect(bodyOf(d!)).toBe("text body");
    await d!.ack();
  });
});
