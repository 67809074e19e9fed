import { DecodeError } from "../errors.js";

/** The deepest JSON a consumer decodes: containers nested at most this many levels (the body's outermost counts). */
export const MAX_JSON_DEPTH = 64;
const MAX_DEPTH = MAX_JSON_DEPTH;
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Strict UTF-8: invalid byte sequences are a DecodeError, never replaced silently. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new DecodeError("body is not valid UTF-8", { cause });
  }
}

/**
 * JSON.parse that refuses what could pollute prototypes later (`__proto__`
 * keys, `constructor` keys holding objects) and nesting deeper than 64.
 * Throws DecodeError; the caller turns it into a classified failure.
 */
export function parseJsonSafely(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new DecodeError(`body is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  if (value !== null && typeof value === "object") {
    assertSafe(value, 0, !objectsInheritNothing());
  }
  return value;
}

const NOTHING = {};

/**
 * True while Object.prototype has no enumerable property (nobody polluted it): a `for…in` over an object
 * JSON.parse made then visits exactly its own keys, in Object.keys' order, without the array Object.keys
 * makes per object. Checked on every parse, so a later pollution is seen at once.
 */
function objectsInheritNothing(): boolean {
  for (const _ in NOTHING) return false;
  return true;
}

/**
 * The walk over a parsed value: each object's keys by `for…in` (no array per object, as Object.keys makes). With
 * `ownOnly` (Object.prototype has enumerable properties: objectsInheritNothing) the inherited keys `for…in` also
 * visits are passed over, so only own keys are checked either way.
 */
function assertSafe(value: unknown, depth: number, ownOnly: boolean): void {
  if (value === null || typeof value !== "object") return;
  // The outermost container is depth 0, so depth MAX_DEPTH is container number MAX_DEPTH + 1.
  if (depth >= MAX_DEPTH) throw new DecodeError(`JSON nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertSafe(value[i], depth + 1, ownOnly);
    return;
  }
  for (const key in value) {
    if (ownOnly && !Object.hasOwn(value, key)) continue;
    const child = (value as Record<string, unknown>)[key];
    checkKey(key, child);
    assertSafe(child, depth + 1, ownOnly);
  }
}

function checkKey(key: string, child: unknown): void {
  if (key === "__proto__") throw new DecodeError("JSON has a __proto__ key");
  if (key === "constructor" && child !== null && typeof child === "object") {
    throw new DecodeError("JSON has a constructor key holding an object");
  }
}

/**
 * Why `JSON.stringify(value)` would not be read back by parseJsonSafely as
 * the same kind of value, or undefined when it would: the same rules, checked
 * on the object before it is serialised (one walk, no extra serialisation).
 * `depth` is the nesting level `value` will have in the body (1 when it sits
 * inside a structured-mode document). Refuses too deep (a cycle is endlessly
 * deep), an own `__proto__` key, a `constructor` key holding an object, and
 * what JSON cannot carry: a BigInt, a function or symbol value (JSON would
 * drop it silently), a non-finite number (JSON would write null). Follows
 * `toJSON` as JSON.stringify does. May throw what a getter or proxy throws.
 */
export function unsendableData(value: unknown, depth: number): string | undefined {
  return unsendable(value, depth, "");
}

function unsendable(value: unknown, depth: number, key: string): string | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `data holds ${String(value)}${at(key)}, which JSON cannot carry`;
    case "bigint":
    case "function":
    case "symbol":
      return `data holds a ${typeof value === "bigint" ? "BigInt" : typeof value}${at(key)}, which JSON cannot carry`;
  }
  if (value === null) return undefined;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    const json: unknown = toJSON.call(value, key);
    return json !== null && typeof json === "object" ? container(json, depth) : unsendable(json, depth, key);
  }
  return container(value as object, depth);
}

function container(value: object, depth: number): string | undefined {
  if (depth >= MAX_DEPTH) return `data is nested deeper than ${MAX_DEPTH} levels (or is circular)`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = unsendable(value[i], depth + 1, "");
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (key === "__proto__") return "data has an own __proto__ key";
    const child = (value as Record<string, unknown>)[key];
    if (key === "constructor" && child !== null && typeof child === "object") return "data has a constructor key holding an object";
    const problem = unsendable(child, depth + 1, key);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function at(key: string): string {
  return key === "" ? "" : ` at key ${JSON.stringify(key.slice(0, 40))}`;
}
