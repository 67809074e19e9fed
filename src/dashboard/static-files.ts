/**
 * The page's files (HTML, CSS, ES modules), shipped in the package under
 * src/dashboard/ui/ and read once at start: nothing is fetched at run time
 * and no CDN is involved. The folder is found relative to this module, which
 * is two levels below the package root both in src/ (tests, tsx) and in
 * dist/ (the package), so one path serves both.
 */
import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface StaticFile {
  readonly type: string;
  readonly body: Buffer;
}

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

export const UI_DIR = fileURLToPath(new URL("../../src/dashboard/ui/", import.meta.url));

/** Every file of the UI folder by name; only these names are ever served (no path from a request reaches the file system). */
export function loadStaticFiles(dir: string = UI_DIR): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type !== undefined) files.set(name, { type, body: readFileSync(join(dir, name)) });
  }
  return files;
}
