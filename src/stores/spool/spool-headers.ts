/**
 * Headers as the spool stores them: a JSON object of strings, names kept
 * exactly (the bytes sent after a flush are the bytes first published).
 * Reading copies into a null-prototype record, so a hand-edited file cannot
 * smuggle `__proto__` into a message; anything but an object of strings is
 * damage (`undefined`), and the row is parked rather than sent altered.
 */
export function encodeSpoolHeaders(headers: Readonly<Record<string, string>>): string {
  return JSON.stringify(headers);
}

export function decodeSpoolHeaders(text: unknown): Record<string, string> | undefined {
  if (typeof text !== "string") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
  const out = Object.create(null) as Record<string, string>;
  for (const name of Object.keys(parsed)) {
    const value = (parsed as Record<string, unknown>)[name];
    if (typeof value !== "string") return undefined;
    out[name] = value;
  }
  return out;
}
