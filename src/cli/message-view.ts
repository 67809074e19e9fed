/**
 * How a stored message is shown: its body as pretty JSON when it parses,
 * as escaped text when it is UTF-8 but not JSON, as base64 when it is
 * binary; headers as a plain record (a `__proto__` header is just a name).
 */
import { DIAGNOSTIC_PREFIX } from "../transport/diagnostic-prefix.js";

/** The documented JSON shape of a body (docs/cli.md). */
export type BodyView =
  | { readonly encoding: "json"; readonly bytes: number; readonly json: unknown }
  | { readonly encoding: "utf8"; readonly bytes: number; readonly text: string }
  | { readonly encoding: "base64"; readonly bytes: number; readonly base64: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function bodyView(body: Uint8Array): BodyView {
  const bytes = body.byteLength;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { encoding: "base64", bytes, base64: Buffer.from(body).toString("base64") };
  }
  try {
    const json: unknown = JSON.parse(text);
    JSON.stringify(json); // very deep nesting parses but may not print: then it is shown as text
    return { encoding: "json", bytes, json };
  } catch {
    return { encoding: "utf8", bytes, text };
  }
}

/** Pretty text of a body for people (not yet escaped: print it through safeText). */
export function bodyText(view: BodyView): string {
  if (view.encoding === "json") return JSON.stringify(view.json, null, 2);
  if (view.encoding === "utf8") return view.text;
  return view.base64;
}

/** The headers other than missive's own diagnostics, sorted by name, as an own-property record. */
export function originalHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).filter((n) => !n.startsWith(DIAGNOSTIC_PREFIX)).sort().map((n) => [n, headers[n]!]));
}
