/**
 * A dead letter's failure signature (src/transport/failure-signature.ts has
 * the rules), from the admin's view of an entry.
 */
import type { DeadLetterEntry } from "../runtime/dead-letter-admin.js";
import { normaliseMessage, type FailureSignature } from "../transport/failure-signature.js";

export { normaliseMessage, parseSignatureKey, sameSignature, signatureKey, type FailureSignature } from "../transport/failure-signature.js";

export function signatureOf(entry: DeadLetterEntry): FailureSignature {
  return { type: entry.topic, errorCode: entry.diagnostics.errorCode, errorClass: entry.diagnostics.errorClass, pattern: normaliseMessage(entry.diagnostics.errorMessage) };
}
