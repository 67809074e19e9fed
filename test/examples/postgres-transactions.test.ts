import { describe, expect, it } from "vitest";
import { checkDocSnippets } from "./doc-snippets.js";
import { runExample } from "./run-example.js";

describe("examples - postgres transactions", () => {
  it("postgres transactions - an order and its message commit in one Kysely transaction; the charge, inbox row, ack and follow-up in one; a copy is charged once", async () => {
    const stdout = await runExample("postgres-transactions");
    expect(stdout).toContain("order o-2 rolled back (payment provider said no): neither the order nor its message exists");
    expect(stdout).toContain("billing charged o-1, o-3; receipts for o-1, o-3");
    expect(stdout).toContain("o-1 delivered again with its id: charged 1 time(s)");
    expect(stdout).toContain("inbox rows: 2, queue rows left: 0");
    expect(stdout).toContain("postgres transactions example finished");
  }, 90_000);
});

describe("examples - postgres transactions docs", () => {
  it("postgres transactions docs - the snippets of docs/transports/postgres.md and docs/outbox-inbox.md are examples/postgres-transactions.ts, line for line", () => {
    expect(checkDocSnippets("docs/transports/postgres.md")).toEqual(Array(3).fill("examples/postgres-transactions.ts"));
    expect(checkDocSnippets("docs/outbox-inbox.md")).toEqual(Array(2).fill("examples/postgres-transactions.ts"));
  });
});
