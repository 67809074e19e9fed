/**
 * How much of one dead letter `dlq show` prints by default: a message can
 * carry megabytes of body and thousands of headers, which bury the terminal
 * and the diagnostics an operator came for. Each part is cut at its bound
 * with a line saying how much was left out and that `--full` prints all of
 * it; `--json` is always whole (it is for programs).
 */

/** Characters of the body's text (pretty JSON, text or base64). */
export const BODY_CHARS = 4096;
/** Headers listed. */
export const HEADERS = 100;
/** Characters of one header value, or of one diagnostic value. */
export const VALUE_CHARS = 1024;
/** Lines of the stored stack. */
export const STACK_LINES = 50;

/** The first `max` characters of `text` (never half a surrogate pair) and how many were left out. */
export function cut(text: string, max: number): { readonly text: string; readonly left: number } {
  if (text.length <= max) return { text, left: 0 };
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return { text: text.slice(0, end), left: text.length - end };
}

/** The line that says what a bound left out. */
export const leftOut = (what: string): string => `  … ${what} not shown (--full shows all of it)`;
