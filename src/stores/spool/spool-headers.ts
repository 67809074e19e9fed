/**
 * Headers as the spool stores them: a JSON object of strings, names kept
 * exactly (the bytes sent after a flush are the bytes first published).
 * Reading copies into a null-prototype record and keeps only string values,
 * so a damaged or hand-edited file cannot smuggle `__proto__` or non-strings
 * into a message.
 */
export function encodeSpoolHeaders(headers: Readonly<Record<string, string>>): string {
  return JSON.stringify(headers);
}

export function decodeSpoolHeaders(text: string): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return out;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return out;
  for (const name of Object.keys(parsed)) {
    const value = (parsed as Record<string, unknown>)[name];
    if (typeof value === "string") out[name] = value;
  }
  return out;
}
