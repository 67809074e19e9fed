/**
 * Edit-then-replay: a dead letter's data replaced, everything else kept
 * (id, type, source, time, key, trace context, the producer's own headers),
 * in the content mode it arrived in, and read back the way a consumer would
 * read it before it is allowed back into the queue: it must decode, and its
 * contract must accept it (upcasters included).
 */
import { ConfigurationError, DecodeError } from "../errors.js";
import type { MessageDefinition } from "../contract/define-message.js";
import { ContractRegistry } from "../contract/registry.js";
import { decodeEnvelope } from "../envelope/codec.js";
import type { SizeLimits } from "../envelope/limits.js";
import { decodeUtf8, parseJsonSafely } from "../envelope/safe-json.js";
import { CONTENT_TYPE, STRUCTURED_CONTENT_TYPE, type WireMessage } from "../envelope/wire.js";
import { withoutDiagnostics } from "../transport/diagnostic-prefix.js";
import type { DeadLetter } from "../transport/transport.js";

/**
 * The wire message to replay in place of `entry`, carrying `data`. Throws
 * DecodeError when the result would not decode (e.g. the stored message has
 * no readable envelope to put data into), SchemaValidationError or
 * UnknownVersionError when the contract refuses it, and ConfigurationError
 * when no contract is given for its type and validation was not waived.
 */
export async function editedWire(entry: DeadLetter, data: unknown, contract: MessageDefinition | undefined, limits: SizeLimits): Promise<WireMessage> {
  const headers = withoutDiagnostics(entry.wire.headers);
  let body: Buffer;
  if ((headers[CONTENT_TYPE] ?? "").toLowerCase().startsWith(STRUCTURED_CONTENT_TYPE)) {
    const doc = parseJsonSafely(decodeUtf8(entry.wire.body));
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
      throw new DecodeError("the dead letter is not a readable structured CloudEvent, so there is no envelope to put new data into: replay it unchanged or discard it");
    }
    body = Buffer.from(JSON.stringify({ ...doc, data }));
  } else {
    body = Buffer.from(JSON.stringify(data ?? null));
  }
  const wire: WireMessage = { headers, body };
  const decoded = decodeEnvelope(wire, limits);
  // The decoder's own typed error (DecodeError, MessageTooLargeError) says what is wrong with the edit.
  if (!decoded.ok) throw decoded.error;
  if (contract !== undefined) {
    if (contract.type !== decoded.envelope.type) {
      throw new ConfigurationError(`contract ${contract.type} does not match the dead letter's type ${decoded.envelope.type}`);
    }
    const registry = new ContractRegistry();
    registry.add(contract);
    await registry.read(decoded.envelope);
  }
  return wire;
}
