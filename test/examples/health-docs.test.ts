/** docs/health.md shows the health examples' code, not a paraphrase (doc-snippets.ts). */
import { describe, expect, it } from "vitest";
import { checkDocSnippets } from "./doc-snippets.js";

describe("examples - health docs", () => {
  it("health docs - every snippet of docs/health.md headed by an example file is that file's code, line for line", () => {
    expect(checkDocSnippets("docs/health.md").sort()).toEqual(["examples/health-express.ts", "examples/health-fastify.ts"]);
  });
});
