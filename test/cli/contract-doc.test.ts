/**
 * The delivery contract is the project's own doc (docs/contract.md, §1 to
 * §12): README.md and the docs cite it, never a design file a user does not
 * have, and every contract section they cite exists.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const read = (file: string): string => readFileSync(join(root, file), "utf8");

function userDocs(): string[] {
  const md = (sub: string): string[] => readdirSync(join(root, sub)).filter((f) => f.endsWith(".md")).map((f) => `${sub}/${f}`);
  // docs/adr ships in the package too (package.json "files": docs).
  return ["README.md", ...md("docs"), ...md("docs/transports"), ...md("docs/adr")];
}

/** Every source file, whose comments become the published .d.ts comments. */
function sources(dir = "src"): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : []));
}

describe("contract doc", () => {
  it("contract doc - docs/contract.md has the contract's sections §1 to §12, in order", () => {
    const sections = [...read("docs/contract.md").matchAll(/^## §(\d+) /gm)].map((m) => Number(m[1]));
    expect(sections).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it("contract doc - README.md, docs/**/*.md (ADRs too) and the sources behind the .d.ts comments cite docs/contract.md, never DESIGN.md, and every § they cite exists", () => {
    const contract = read("docs/contract.md");
    const problems: string[] = [];
    for (const file of [...userDocs(), ...sources()]) {
      const text = read(file);
      if (/DESIGN\.md/.test(text)) problems.push(`${file} cites DESIGN.md`);
      for (const m of text.matchAll(/contract\.md#(\d+)-/g)) {
        if (!new RegExp(`^## §${m[1]} `, "m").test(contract)) problems.push(`${file} cites contract §${m[1]}, which docs/contract.md lacks`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("contract doc - its links to the guarantees matrix name anchors the matrix has", () => {
    const guarantees = read("docs/guarantees.md");
    const anchors = [...read("docs/contract.md").matchAll(/guarantees\.md#([\w-]+)/g)].map((m) => m[1]!);
    expect(anchors.length).toBeGreaterThan(0);
    for (const anchor of anchors) expect(guarantees, anchor).toContain(`<a id="${anchor}"></a>`);
  });
});
