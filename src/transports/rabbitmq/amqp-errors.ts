/**
 * amqplib's errors as missive's typed errors, with no password in any message.
 * Authentication and permission failures and broken configuration fail fast;
 * everything about the network is a ConnectionError the callers retry.
 */
import { AuthenticationError, ConfigurationError, ConnectionError, isMissiveError, type MissiveError } from "../../errors.js";
import { redact } from "../../redact.js";

/** AMQP reply codes that mean "you may not": a wrong password, a vhost or resource the user has no rights to. */
const AUTH_CODES = new Set([403, 530]);
/** Reply codes that mean the topology or the request is wrong: missing queue or exchange, mismatched arguments. */
const CONFIG_CODES = new Set([404, 406, 501, 502, 503, 540]);
/** Node and TLS error codes that no retry will fix. */
const TLS_CONFIG = /^(CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_TLS_|ERR_SSL_|ERR_OSSL_|HOSTNAME_MISMATCH|ERR_INVALID_ARG)/;

export function toAmqpError(err: unknown, context: string): MissiveError {
  if (isMissiveError(err)) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const message = `${context}: ${redact(e.message)}`;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "number" && AUTH_CODES.has(code)) return new AuthenticationError(message, { cause: e });
  if (typeof code === "number" && CONFIG_CODES.has(code)) return new ConfigurationError(message, { cause: e });
  if (/\b(403|530)\b.*\b(ACCESS[-_]REFUSED|NOT[-_]ALLOWED)\b|ACCESS_REFUSED|authentication failure/i.test(e.message)) return new AuthenticationError(message, { cause: e });
  if (typeof code === "string" && TLS_CONFIG.test(code)) return new ConfigurationError(message, { cause: e });
  return new ConnectionError(message, { cause: e });
}
