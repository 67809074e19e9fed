/**
 * Invalid CloudEvents attributes from a plain client of the broker (issue 14,
 * "Input the envelope lets through"), run on every transport: each message is
 * dead-lettered at once as poison with a reason naming the attribute, never
 * handled, and the consumer goes on with the next good message.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { DiagnosticHeaders, ErrorCodes, defineMessage } from "../../src/index.js";
import { deadLettersOf } from "../support/abilities.js";
import { waitFor } from "../support/wait.js";
import { useTarget } from "./fixture.js";
import type { ConformanceTarget } from "./target.js";

const Note = defineMessage({ type: "conformance.attributes.note", schema: z.object({ n: z.number().int() }) });

function ceHeaders(id: string, extra: Record<string, string> = {}): Record<string, string> {
  return { "ce-id": id, "ce-source": "plain-client", "ce-type": Note.type, "ce-specversion": "1.0", "content-type": "application/json", ...extra };
}

/** Each case: the headers a plain client sends, and the attribute the dead letter's reason must name. */
const CASES: ReadonlyArray<{ id: string; extra: Record<string, string>; attribute: string }> = [
  { id: "bad-time-text", extra: { "ce-time": "not-a-date" }, attribute: "time" },
  { id: "bad-time-empty", extra: { "ce-time": "" }, attribute: "time" },
  { id: "bad-time-control", extra: { "ce-time": "2026-01-01T00:00:00Z\u0007" }, attribute: "time" },
  { id: "bad-time-feb-30", extra: { "ce-time": "2026-02-30T00:00:00Z" }, attribute: "time" },
  { id: "bad-source-empty", extra: { "ce-source": "" }, attribute: "source" },
  { id: "bad-type-control", extra: { "ce-type": `${Note.type}\u0000` }, attribute: "type" },
  { id: "bad-id-control\u001b[31m", extra: {}, attribute: "id" },
  { id: "bad-subject-empty", extra: { "ce-subject": "" }, attribute: "subject" },
  { id: "bad-dataschema-empty", extra: { "ce-dataschema": "" }, attribute: "dataschema" },
  { id: "bad-specversion", extra: { "ce-specversion": "0.3" }, attribute: "specversion" },
  { id: "bad-contenttype-control", extra: { "content-type": "application/json\u0000x" }, attribute: "datacontenttype" },
  { id: "bad-key-control", extra: { "ce-key": "k\nforged log line" }, attribute: "key" },
  { id: "bad-expiresat", extra: { "ce-expiresat": "tomorrow" }, attribute: "expiresat" },
  { id: "bad-priority", extra: { "ce-priority": "10" }, attribute: "priority" },
  { id: "bad-extension-control", extra: { "ce-tenant": "acme\u0000" }, attribute: "tenant" },
];

export function runAttributeConformance(target: ConformanceTarget): void {
  describe(`invalid attributes - ${target.name}`, () => {
    const fx = useTarget(target, "attributes");

    it("attributes - invalid time, source, type, id, subject, dataschema, specversion, content type, key, expiresat, priority, extension from a plain client: dead-lettered naming the attribute, consumer goes on", async () => {
      const b = await fx.bus();
      const handled: number[] = [];
      const seenTimes: string[] = [];
      await b.consume(Note, { group: "attrs", concurrency: 4 }, (d, ctx) => {
        handled.push(d.n);
        seenTimes.push(ctx.message.time);
      }).ready;
      const body = Buffer.from('{"n":1}');
      for (const c of CASES) await fx.h.plain.publish(Note.type, ceHeaders(c.id, c.extra), body);
      await fx.h.plain.publish(Note.type, ceHeaders("good", { "ce-time": "2026-12-06T19:00:00.5+01:00" }), Buffer.from('{"n":2}'));
      const store = deadLettersOf(b.transport);
      await waitFor(async () => (await store.count({ group: "attrs" })) === CASES.length && handled.length === 1, 20_000, "every invalid message dead-lettered, the good one handled");
      expect(handled).toEqual([2]);
      expect(seenTimes).toEqual(["2026-12-06T19:00:00.5+01:00"]);
      const entries = await store.list({ group: "attrs", limit: 100 });
      expect(entries).toHaveLength(CASES.length);
      for (const c of CASES) {
        const e = entries.find((x) => x.wire.headers["ce-id"] === c.id);
        expect(e, c.id).toBeDefined();
        expect(e!.wire.headers[DiagnosticHeaders.reason], c.id).toBe("poison");
        expect(e!.wire.headers[DiagnosticHeaders.errorCode], c.id).toBe(ErrorCodes.DECODE);
        expect(e!.wire.headers[DiagnosticHeaders.errorMessage], c.id).toContain(c.attribute);
      }
    });
  });
}
