/**
 * A page shows an example's code, not a paraphrase: each snippet headed
 * `// examples/<file>.ts` must be that file's lines as they are (blank lines
 * aside), so the page cannot drift from the code its tests run.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect } from "vitest";

const root = resolve(import.meta.dirname, "../..");

/** Checks every headed snippet of `doc` against its file; resolves with the files the snippets came from, in page order. */
export function checkDocSnippets(doc: string): string[] {
  const text = readFileSync(join(root, doc), "utf8");
  const snippets = [...text.matchAll(/```ts\n\/\/ (examples\/[\w-]+\.ts)\n([\s\S]*?)```/g)].map((m) => ({ file: m[1]!, lines: m[2]!.split("\n").filter((l) => l.trim() !== "") }));
  for (const { file, lines } of snippets) {
    const source = readFileSync(join(root, file), "utf8").split("\n").filter((l) => l.trim() !== "");
    const at = source.indexOf(lines[0]!);
    expect(at, `${doc}: ${file}: ${lines[0]}`).toBeGreaterThanOrEqual(0);
    expect(source.slice(at, at + lines.length), `${doc}: ${file}`).toEqual(lines);
  }
  return snippets.map((s) => s.file);
}
