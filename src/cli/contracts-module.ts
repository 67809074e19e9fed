/**
 * A contracts module the operator names (`--contracts ./contracts.js` or
 * MISSIVE_CONTRACTS): imported as it is, and every exported message
 * definition collected: objects with a string `type`, a number `version`
 * and a Standard Schema `schema`, exported directly or inside an exported
 * array or object (`export default [A, B]`, `export const contracts = { A }`).
 * A definition made by another copy of missive works too: one with only
 * `type`, `version` and `schema` is wrapped by `defineMessage`.
 *
 * A module may export several versions of one type (`OrderV1`, `OrderV2`): the
 * newest is the current contract, and older messages are read through its
 * upcasters, as a consumer reads them. A `.ts` module is loaded through the
 * project's own `tsx` when it has one (Node cannot import TypeScript itself);
 * without it the error says what to do.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { defineMessage, type MessageDefinition } from "../contract/define-message.js";
import { MissiveError } from "../errors.js";
import { usageError } from "./exit-codes.js";
import { safeText } from "./output.js";

interface DefinitionLike {
  readonly type: string;
  readonly version: number;
  readonly schema: { readonly "~standard": { readonly validate: unknown } };
}

function isDefinitionLike(value: unknown): value is DefinitionLike {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  const schema = v["schema"] as Record<string, unknown> | null | undefined;
  const standard = schema !== null && typeof schema === "object" ? (schema["~standard"] as Record<string, unknown> | undefined) : undefined;
  return typeof v["type"] === "string" && typeof v["version"] === "number" && standard !== null && typeof standard === "object" && typeof standard["validate"] === "function";
}

function isComplete(value: DefinitionLike): value is DefinitionLike & MessageDefinition {
  const v = value as unknown as Record<string, unknown>;
  return typeof v["keyOf"] === "function" && typeof v["upcastFrom"] === "function" && typeof v["minVersion"] === "number";
}

/** The path a command was given for its contracts module, if any. */
export function contractsPathOf(option: string | undefined): string | undefined {
  const path = option ?? process.env["MISSIVE_CONTRACTS"];
  return path === undefined || path === "" ? undefined : path;
}

const TYPESCRIPT = new Set([".ts", ".mts", ".cts"]);

interface TsxApi {
  tsImport(specifier: string, parentURL: string): Promise<unknown>;
}

/** The project's tsx (next to the module, or next to missive), or undefined when there is none. */
async function tsxNear(file: string): Promise<TsxApi | undefined> {
  for (const from of [file, import.meta.url]) {
    let manifestPath: string;
    try {
      manifestPath = createRequire(from).resolve("tsx/package.json");
    } catch {
      // Not resolvable from here: try the next place, then say what to do.
      continue;
    }
    // The ESM entry of tsx's API, as its package.json exports it (the CJS one cannot load modules for ESM).
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { exports?: Record<string, { import?: { default?: string } }> };
    const entry = manifest.exports?.["./esm/api"]?.import?.default;
    if (entry === undefined) continue;
    const api = (await import(pathToFileURL(join(dirname(manifestPath), entry)).href)) as Partial<TsxApi>;
    if (typeof api.tsImport === "function") return api as TsxApi;
  }
  return undefined;
}

async function importModule(file: string, path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  if (!TYPESCRIPT.has(extname(file))) return (await import(url)) as Record<string, unknown>;
  const tsx = await tsxNear(file);
  if (!tsx) {
    throw usageError(
      `contracts module ${JSON.stringify(safeText(path))} is TypeScript, which Node cannot import by itself: install tsx in the project (npm install --save-dev tsx), or point --contracts at the compiled .js file`,
    );
  }
  return (await tsx.tsImport(url, import.meta.url)) as Record<string, unknown>;
}

/** Import the module and collect its definitions by type. Usage errors say what is wrong with it. */
export async function loadContracts(path: string): Promise<Map<string, MessageDefinition>> {
  const file = resolve(path);
  if (!existsSync(file)) throw usageError(`contracts module ${JSON.stringify(safeText(path))} does not exist`);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(file, path);
  } catch (cause) {
    if (cause instanceof MissiveError) throw cause;
    const why = cause instanceof Error ? cause.message : String(cause);
    throw usageError(`contracts module ${JSON.stringify(safeText(path))} could not be loaded: ${safeText(why.split("\n")[0] ?? "")}`);
  }
  const found = new Map<string, MessageDefinition>();
  // The same export may be seen twice (a named export and inside `default`): it is one contract, not two.
  const seen = new Set<unknown>();
  const add = (value: unknown): void => {
    if (!isDefinitionLike(value) || seen.has(value)) return;
    seen.add(value);
    const def = isComplete(value) ? (value as MessageDefinition) : defineMessage({ type: value.type, version: value.version, schema: value.schema as MessageDefinition["schema"] });
    const existing = found.get(def.type);
    if (existing && existing.version === def.version) {
      throw usageError(`contracts module ${JSON.stringify(safeText(path))} exports two contracts for ${safeText(def.type)} v${def.version}`);
    }
    // Several versions of one type: the newest is current (its upcasters read the older ones).
    if (!existing || def.version > existing.version) found.set(def.type, def);
  };
  for (const value of Object.values(mod)) {
    if (isDefinitionLike(value)) add(value);
    else if (Array.isArray(value)) value.forEach(add);
    else if (value !== null && typeof value === "object") Object.values(value).forEach(add);
  }
  if (found.size === 0) throw usageError(`contracts module ${JSON.stringify(safeText(path))} exports no message definitions (objects made by defineMessage)`);
  return found;
}

/** The contract for `type` from the named module; a usage error when the module has none for it. */
export async function contractFor(path: string, type: string): Promise<MessageDefinition> {
  const contracts = await loadContracts(path);
  const def = contracts.get(type);
  if (!def) {
    throw usageError(`contracts module ${JSON.stringify(safeText(path))} has no contract for ${JSON.stringify(safeText(type))} (it has: ${[...contracts.keys()].map(safeText).join(", ")})`);
  }
  return def;
}
