/**
 * docs/health.md shows the health examples' code, not a paraphrase: each
 * snippet headed `// examples/<file>.ts` must be that file's lines, as they
 * are, so the page cannot drift from the code its tests run.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");

describe("examples - health docs", () => {
  it("health docs - every snippet of docs/health.md headed by an example file is that file's code, line for line", () => {
    const doc = readFileSync(join(root, "docs/health.md"), "utf8");
    const snippets = [...doc.matchAll(/```ts\n\/\/ (examples\/[\w-]+\.ts)\n([\s\S]*?)```/g)].map((m) => ({ file: m[1]!, lines: m[2]!.split("\n").filter((l) => l.trim() !== "") }));
    expect(snippets.map((s) => s.file).sort()).toEqual(["examples/health-express.ts", "examples/health-fastify.ts"]);
    for (const { file, lines } of snippets) {
      const source = readFileSync(join(root, file), "utf8").split("\n").filter((l) => l.trim() !== "");
      const at = source.indexOf(lines[0]!);
      expect(at, `${file}: ${lines[0]}`).toBeGreaterThanOrEqual(0);
      expect(source.slice(at, at + lines.length), file).toEqual(lines);
    }
  });
});
