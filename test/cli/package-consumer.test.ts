/**
 * What `npm pack` ships works for a user: every source map it ships carries
 * its sources (or none ships), and a TypeScript project with nothing but
 * typescript and what npm installs with missive compiles a file importing
 * missive's entry points, with the library's own `.d.ts` files checked
 * (no skipLibCheck). Packages come from this repository's node_modules,
 * linked into the consumer (no registry), and the consumer preserves
 * symlinks so nothing outside its own node_modules resolves.
 * Needs `npm run build` first (dist/).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const work = mkdtempSync(join(tmpdir(), "missive-pack-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface PackedFile {
  readonly path: string;
}

let shipped: string[] = [];
let unpacked = "";

beforeAll(() => {
  // --ignore-scripts: dist/ is built before the cli lane runs; a build here would race other tests reading dist/.
  const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: root, encoding: "utf8" });
  const [pack] = JSON.parse(out) as Array<{ filename: string; files: PackedFile[] }>;
  shipped = pack!.files.map((f) => f.path);
  unpacked = join(work, "consumer", "node_modules", "missive");
  mkdirSync(unpacked, { recursive: true });
  execFileSync("tar", ["-xzf", join(work, pack!.filename), "-C", unpacked, "--strip-components=1"]);
}, 120_000);

/** Links `name` and, transitively, its dependencies from this repository's node_modules into the consumer's. */
function linkWithDependencies(consumerModules: string, name: string, seen: Set<string>): void {
  if (seen.has(name)) return;
  seen.add(name);
  const source = join(root, "node_modules", name);
  if (!existsSync(source)) throw new Error(`${name} is not installed in ${root}/node_modules`);
  const target = join(consumerModules, name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(source, target, "dir");
  const manifest = JSON.parse(readFileSync(join(source, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies ?? {})) linkWithDependencies(consumerModules, dep, seen);
}

describe("package", () => {
  it("package - every shipped source map ships with the source it names", () => {
    const maps = shipped.filter((f) => f.endsWith(".map"));
    for (const map of maps) {
      const parsed = JSON.parse(readFileSync(join(unpacked, map), "utf8")) as { sources: string[]; sourcesContent?: Array<string | null> };
      parsed.sources.forEach((source, i) => {
        const inline = parsed.sourcesContent?.[i];
        const onDisk = shipped.includes(join(dirname(map), source).replaceAll("\\", "/"));
        expect(inline != null || onDisk, `${map} names ${source}, which the package does not ship`).toBe(true);
      });
    }
  });

  it("package - the README's links work from the registry's page (absolute, no relative ones) and every docs/ path it names ships", () => {
    const readme = readFileSync(join(unpacked, "README.md"), "utf8");
    const relative = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]!).filter((target) => !/^(https?:|mailto:|#)/.test(target));
    expect(relative).toEqual([]);
    const named = [...new Set([...readme.matchAll(/`(docs\/[\w./-]+\.md)`/g)].map((m) => m[1]!))];
    expect(named.length).toBeGreaterThan(0);
    for (const path of named) expect(shipped, `README names ${path}`).toContain(path);
  });

  it("package - a consumer with only typescript, missive's dependencies and its required peer compiles missive's .d.ts files (no @types/node of its own)", () => {
    const consumer = join(work, "consumer");
    const modules = join(consumer, "node_modules");
    const manifest = JSON.parse(readFileSync(join(unpacked, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    const seen = new Set<string>(["missive"]);
    // npm 7+ and pnpm install a required peer (@opentelemetry/api) with the package; optional ones are the user's.
    const requiredPeers = Object.keys(manifest.peerDependencies ?? {}).filter((p) => manifest.peerDependenciesMeta?.[p]?.optional !== true);
    for (const dep of [...Object.keys(manifest.dependencies ?? {}), ...requiredPeers]) linkWithDependencies(modules, dep, seen);
    linkWithDependencies(modules, "typescript", seen);
    writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: false, preserveSymlinks: true },
        include: ["index.ts"],
      }),
    );
    // The entry points a user needs no optional peer for (the broker clients and vitest are theirs to install).
    writeFileSync(
      join(consumer, "index.ts"),
      [
        `import * as missive from "missive";`,
        `import { memoryTransport } from "missive/memory";`,
        `import { sqliteTransport } from "missive/sqlite";`,
        `import { sqliteOutbox } from "missive/stores/sqlite";`,
        `export const used = [missive, memoryTransport, sqliteTransport, sqliteOutbox];`,
        ``,
      ].join("\n"),
    );
    let output = "";
    try {
      execFileSync(process.execPath, [join(modules, "typescript", "bin", "tsc"), "-p", consumer], { cwd: consumer, encoding: "utf8" });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(output).toBe("");
  }, 120_000);
});
