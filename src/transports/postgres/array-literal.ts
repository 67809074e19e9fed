/**
 * PostgreSQL array literals for the hot statements' array parameters (`$n::text[]`, `$n::int[]`), built here
 * instead of by node-postgres, which quotes every element, numbers too, and runs two regular-expression replaces
 * on each: for a 64-message publish that was a fifth of the client's time spent in the queue store
 * (its escapeElement, arrayString and prepareValue). The server parses the same literal either way.
 */

/** Decimal integers, or strings of decimal digits (BIGINT seqs): no element needs quotes. */
export function integerArray(values: readonly (number | string)[]): string {
  return `{${values.join(",")}}`;
}

const NEEDS_ESCAPE = /["\\]/;

/** Text elements, each quoted (so `NULL` or an empty string stays text); null is SQL NULL. */
export function textArray(values: readonly (string | null)[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    const v = values[i]!;
    if (v === null) out += "NULL";
    else out += NEEDS_ESCAPE.test(v) ? `"${v.replace(/["\\]/g, "\\$&")}"` : `"${v}"`;
  }
  return out + "}";
}
