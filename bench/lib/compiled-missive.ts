/**
 * Whether the bench's children run missive as users do: compiled, from
 * dist/. Run from src/ under tsx, every named closure created in a hot path
 * is wrapped in esbuild's `__name(fn, "name")` (a defineProperty per
 * creation) that the raw clients, loaded from node_modules, never pay. So
 * when dist/ is at least as new as every source file, a child loads
 * dist/X.js wherever a case imports src/X (compiled-missive-hook.ts);
 * otherwise it falls back to src/ and the results say so.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const repoRoot = join(import.meta.dirname, "..", "..");
export const SRC_DIR = join(repoRoot, "src");
export const DIST_DIR = join(repoRoot, "dist");
/** Added to a child's execArgv when dist/ is fresh: the resolve hook that swaps src/ for dist/. */
export const HOOK = join(import.meta.dirname, "compiled-missive-hook.mjs");

export type MissiveCode = "dist" | "src";

/** The newest build-input source file that has no dist/ output at least as new, or undefined when dist/ is fresh. */
export function staleSource(src = SRC_DIR, dist = DIST_DIR): string | undefined {
  const walk = (dir: string): string | undefined => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        const found = walk(path);
        if (found !== undefined) return found;
        continue;
      }
      if (!entry.name.endsWith(".ts") || entry.name.endsWith(".test.ts") || entry.name.endsWith(".d.ts")) continue;
      const out = join(dist, relative(src, path)).replace(/\.ts$/, ".js");
      if (!existsSync(out) || statSync(out).mtimeMs < statSync(path).mtimeMs) return relative(repoRoot, path);
    }
    return undefined;
  };
  return existsSync(dist) ? walk(src) : "dist/ (not built)";
}

/** Which code the children will run, and the reason when it is src/. */
export function missiveCode(): { code: MissiveCode; reason?: string } {
  const stale = staleSource();
  return stale === undefined ? { code: "dist" } : { code: "src", reason: `dist/ is older than ${stale}: run \`npm run build\`` };
}
