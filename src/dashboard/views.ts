/**
 * The JSON shapes the page reads: a dead letter as a row of a list, and one
 * whole (body, original headers, every diagnostic). Times are ISO strings.
 * The page renders all of it as text (textContent), never as markup.
 */
import { bodyView, originalHeaders } from "../cli/message-view.js";
import type { DeadLetterEntry } from "../runtime/dead-letter-admin.js";
import { payloadOf } from "./payload-search.js";
import { signatureKey, signatureOf } from "./signature.js";

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function rowOf(e: DeadLetterEntry): Record<string, unknown> {
  const d = e.diagnostics;
  return {
    entryId: e.entryId, messageId: e.messageId, group: e.group, type: e.topic, key: e.key ?? null, deadLetteredAt: iso(e.deadLetteredAt),
    errorCode: d.errorCode ?? null, errorClass: d.errorClass ?? null, errorMessage: d.errorMessage ?? null, attempts: d.attempts ?? null,
    signature: signatureKey(signatureOf(e)),
  };
}

export function wholeOf(e: DeadLetterEntry): Record<string, unknown> {
  const d = e.diagnostics;
  return {
    ...rowOf(e),
    diagnostics: {
      errorClass: d.errorClass ?? null, errorCode: d.errorCode ?? null, errorMessage: d.errorMessage ?? null, errorStack: d.errorStack ?? null,
      reason: d.reason ?? null, attempts: d.attempts ?? null, firstFailureAt: iso(d.firstFailureAt), lastFailureAt: iso(d.lastFailureAt),
      source: d.source ?? null, group: d.group ?? null, host: d.host ?? null, version: d.version ?? null,
    },
    headers: originalHeaders(e.wire.headers),
    body: bodyView(e.wire.body),
    /** The data as its consumer reads it (what an edit starts from); null when the body does not decode. */
    data: payloadOf(e) ?? null,
  };
}
