/** outbox.add shares the producer's check (issue 14): what a consumer would refuse is never written to the outbox table. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineMessage, ErrorCodes, MissiveError } from "../../src/index.js";
import { sqliteOutbox } from "../../src/stores/sqlite/index.js";
import { openSqlite } from "../conformance/stores/sqlite.target.js";

const Anything = defineMessage({ type: "outbox.refuses.anything", schema: z.unknown() });

describe("outbox - refuses what a consumer would refuse", () => {
  it("outbox - a BigInt, a cycle, data 65 deep, an own __proto__ key, a key with a control character: EncodeError inside the transaction, no row written", () => {
    const dir = mkdtempSync(join(tmpdir(), "missive-outbox-refuses-"));
    const db = openSqlite(join(dir, "app.db"));
    try {
      const outbox = sqliteOutbox({ database: db, source: "refuses", table: "refuses_outbox" });
      outbox.migrate();
      const cycle: Record<string, unknown> = {};
      cycle["self"] = cycle;
      let deep: unknown = 1;
      for (let i = 0; i < 65; i++) deep = [deep];
      const cases: Array<[string, unknown, Record<string, string>?]> = [
        ["a BigInt", { n: 1n }],
        ["a cycle", cycle],
        ["65 deep", deep],
        ["own __proto__", JSON.parse('{"__proto__": {"x": 1}}')],
        ["key with a control character", { a: 1 }, { key: "k\u0000" }],
      ];
      for (const [what, data, options] of cases) {
        let caught: unknown;
        try {
          db.transaction(() => outbox.add(db, Anything, data, options))();
        } catch (err) {
          caught = err;
        }
        expect(caught, what).toBeInstanceOf(MissiveError);
        expect((caught as MissiveError).code, what).toBe(ErrorCodes.ENCODE);
      }
      expect(db.prepare("SELECT COUNT(*) AS n FROM refuses_outbox").get()).toEqual({ n: 0 });
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
