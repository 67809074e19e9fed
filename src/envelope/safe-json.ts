import { DecodeError } from "../errors.js";

const MAX_DEPTH = 64;
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
  assertSafe(value, 0);
  return value;
}

function assertSafe(value: unknown, depth: number): void {
  if (value === null || typeof value !== "object") return;
  // The outermost container is depth 0, so depth MAX_DEPTH is container number MAX_DEPTH + 1.
  if (depth >= MAX_DEPTH) throw new DecodeError(`JSON nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (const item of value) assertSafe(item, depth + 1);
    return;
  }
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    if (key === "__proto__") throw new DecodeError("JSON has a __proto__ key");
    if (key === "constructor" && child !== null && typeof child === "object") {
      throw new DecodeError("JSON has a constructor key holding an object");
    }
    assertSafe(child, depth + 1);
  }
}
