/**
 * A contracts module the operator names (`--contracts ./contracts.js` or
 * MISSIVE_CONTRACTS): imported as it is, and every exported message
 * definition collected: objects with a string `type`, a number `version`
 * and a Standard Schema `schema`, exported directly or inside an exported
 * array or object (`export default [A, B]`, `export const contracts = { A }`).
 * A definition made by another copy of missive works too: one with only
 * `type`, `version` and `schema` is wrapped by `defineMessage`.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { defineMessage, type MessageDefinition } from "../contract/define-message.js";
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

/** Import the module and collect its definitions by type. Usage errors say what is wrong with it. */
export async function loadContracts(path: string): Promise<Map<string, MessageDefinition>> {
  const file = resolve(path);
  if (!existsSync(file)) throw usageError(`contracts module ${JSON.stringify(safeText(path))} does not exist`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw usageError(`contracts module ${JSON.stringify(safeText(path))} could not be loaded: ${safeText(why.split("\n")[0] ?? "")}`);
  }
  const found = new Map<string, MessageDefinition>();
  const add = (value: unknown): void => {
    if (!isDefinitionLike(value)) return;
    const def = isComplete(value) ? (value as MessageDefinition) : defineMessage({ type: value.type, version: value.version, schema: value.schema as MessageDefinition["schema"] });
    const existing = found.get(def.type);
    if (existing && existing !== value && existing.version !== def.version) {
      throw usageError(`contracts module ${JSON.stringify(safeText(path))} exports two contracts for ${safeText(def.type)}`);
    }
    found.set(def.type, def);
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
