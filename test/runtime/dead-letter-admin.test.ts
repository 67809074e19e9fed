/** The dead-letter admin's own rules, on the memory transport (the conformance suite runs it everywhere). */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigurationError, DecodeError, MessageTooLargeError, PermanentError, deadLetterAdmin, defineMessage, missive, type Bus } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { waitFor } from "../support/wait.js";

const Note = defineMessage({ type: "admin.note", schema: z.object({ text: z.string() }) });

async function deadLettered(contentMode: "binary" | "structured" = "binary"): Promise<{ bus: Bus; entryId: string; handled: string[] }> {
  const broker = createMemoryBroker();
  const bus = await missive({ service: "admin", transport: broker.transport(), contentMode });
  const handled: string[] = [];
  let fail = true;
  await bus.consume(Note, { group: "notes" }, (d) => {
    if (fail) throw new PermanentError("no");
    handled.push(d.text);
  }).ready;
  await bus.publish(Note, { text: "first" });
  await waitFor(async () => (await bus.deadLetters().count()) === 1, 5_000, "the dead letter");
  fail = false;
  const [entry] = await bus.deadLetters().list();
  return { bus, entryId: entry!.entryId, handled };
}

describe("dead-letter admin", () => {
  it("admin - a transport without a dead-letter store is a ConfigurationError naming the fallback topic", () => {
    const t = createMemoryBroker().transport({ capabilities: { nativeDeadLetter: false } });
    expect(() => deadLetterAdmin(t)).toThrow(/missive\.dlq\.<group>/);
  });

  it("admin - edit keeps the structured envelope and replaces only its data", async () => {
    const { bus, entryId, handled } = await deadLettered("structured");
    expect(await bus.deadLetters().edit(entryId, { text: "fixed" })).toBe(true);
    await waitFor(() => handled.length === 1, 5_000, "the edited message");
    expect(handled).toEqual(["fixed"]);
    await bus.close();
  });

  it("admin - edit without a known contract needs validate: false; hostile or oversized data is refused and the entry stays", async () => {
    const { bus, entryId, handled } = await deadLettered();
    const bare = deadLetterAdmin(bus.transport);
    await expect(bare.edit(entryId, { text: "x" })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(bare.edit(entryId, JSON.parse('{"text":"x","__proto__":{"polluted":1}}'))).rejects.toBeInstanceOf(ConfigurationError);
    await expect(bus.deadLetters().edit(entryId, JSON.parse('{"text":"x","__proto__":{"polluted":1}}'))).rejects.toBeInstanceOf(DecodeError);
    await expect(bus.deadLetters().edit(entryId, { text: "x".repeat(2 * 1024 * 1024) })).rejects.toBeInstanceOf(MessageTooLargeError);
    expect(await bare.count()).toBe(1);
    expect(await bare.edit(entryId, { anything: 1 }, { validate: false })).toBe(true);
    await waitFor(async () => (await bare.count()) === 1, 5_000, "dead-lettered again: the consumer's contract refuses it");
    expect(handled).toEqual([]);
    await bus.close();
  });

  it("admin - an entry whose message never decoded cannot be edited, only replayed or discarded", async () => {
    const broker = createMemoryBroker();
    const t = broker.transport();
    const bus = await missive({ service: "admin", transport: t, contentMode: "structured" });
    await bus.consume(Note, { group: "notes" }, () => undefined).ready;
    await t.publish([{ topic: Note.type, id: "bad", key: undefined, wire: { headers: { "content-type": "application/cloudevents+json" }, body: Buffer.from("{nope") } }]);
    const admin = bus.deadLetters();
    await waitFor(async () => (await admin.count()) === 1, 5_000, "the poison message");
    const [entry] = await admin.list();
    await expect(admin.edit(entry!.entryId, { text: "x" })).rejects.toBeInstanceOf(DecodeError);
    expect(await admin.discardWhere({ messageId: "bad" })).toEqual({ matched: 1, done: 1 });
    await bus.close();
  });

  it("admin - bulk runs stop when aborted and refuse a bad batch size", async () => {
    const { bus } = await deadLettered();
    const admin = bus.deadLetters();
    await expect(admin.replayWhere({}, { batchSize: 0 })).rejects.toBeInstanceOf(ConfigurationError);
    const aborted = new AbortController();
    aborted.abort();
    expect(await admin.replayWhere({}, { signal: aborted.signal })).toEqual({ matched: 1, done: 0 });
    expect(await admin.count()).toBe(1);
    await bus.close();
  });
});
