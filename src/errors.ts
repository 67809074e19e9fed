/**
 * Typed errors. Every error missive throws is a `MissiveError` with a stable,
 * literal-typed `code` from `ErrorCodes`; callers branch on `code` (or on the
 * predicates below), never on message text. `cause` is always passed through.
 */

export const ErrorCodes = {
  /** A handler says: retrying will not help. Dead-lettered at once. */
  PERMANENT: "MISSIVE_PERMANENT",
  /** A handler says: try again later. Retried within the attempt budget. */
  TRANSIENT: "MISSIVE_TRANSIENT",
  /** Message bytes or attributes could not be decoded (bad JSON, bad UTF-8, hostile keys, missing attributes). */
  DECODE: "MISSIVE_DECODE",
  /** Data does not satisfy the contract's schema. */
  SCHEMA: "MISSIVE_SCHEMA",
  /** No contract is registered for the message type. */
  UNKNOWN_TYPE: "MISSIVE_UNKNOWN_TYPE",
  /** The type is known but not that version, and no upcaster reaches it. */
  UNKNOWN_VERSION: "MISSIVE_UNKNOWN_VERSION",
  /** Body, one header or all headers exceed the configured size limits. */
  TOO_LARGE: "MISSIVE_TOO_LARGE",
  /** The broker had no destination for a published message (it was not silently dropped). */
  UNROUTABLE: "MISSIVE_UNROUTABLE",
  /** The broker did not confirm a publish within the deadline. */
  PUBLISH_TIMEOUT: "MISSIVE_PUBLISH_TIMEOUT",
  /** The transport is unreachable or its connection broke. Retryable. */
  CONNECTION: "MISSIVE_CONNECTION",
  /** Credentials were refused. Not retryable: fails fast. */
  AUTH: "MISSIVE_AUTH",
  /** A setting, URL or option is wrong. Not retryable: fails fast. */
  CONFIG: "MISSIVE_CONFIG",
  /** A request got no reply within its timeout. */
  REQUEST_TIMEOUT: "MISSIVE_REQUEST_TIMEOUT",
  /** A handler ran past its timeout. Retryable. */
  HANDLER_TIMEOUT: "MISSIVE_HANDLER_TIMEOUT",
  /** The bus or consumer is closed. */
  CLOSED: "MISSIVE_CLOSED",
  /** The message was already handled by this consumer group (inbox). */
  DUPLICATE: "MISSIVE_DUPLICATE",
  /** A delivery's lease was lost (it expired and the message went to another consumer). */
  LEASE_LOST: "MISSIVE_LEASE_LOST",
  /** The producer's local spool is full (its byte or message bound): the message was neither sent nor spooled. */
  SPOOL_FULL: "MISSIVE_SPOOL_FULL",
  /** The message's expiry time (`expiresat`, from `expiresIn` or a request's timeout) passed before it was handled: dead-lettered, never handled. */
  EXPIRED: "MISSIVE_EXPIRED",
  /** `publish` refused a message a consumer would refuse or JSON cannot carry (too deep, a cycle, a BigInt, a `__proto__` key, an invalid attribute): nothing was sent. */
  ENCODE: "MISSIVE_ENCODE",
  /** Something failed that missive did not classify. Retried like a transient error. */
  UNKNOWN: "MISSIVE_UNKNOWN",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface MissiveErrorOptions {
  cause?: unknown;
}

/** Base class of every error missive throws. */
export class MissiveError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: MissiveErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = "MissiveError";
  }
}

function defineError<C extends ErrorCode>(name: string, code: C) {
  const Cls = class extends MissiveError {
    declare readonly code: C;
    constructor(message: string, options?: MissiveErrorOptions) {
      super(code, message, options);
      this.name = name;
    }
  };
  Object.defineProperty(Cls, "name", { value: name });
  return Cls;
}

/** Throw from a handler when retrying cannot help; the message is dead-lettered at once. */
export const PermanentError = defineError("PermanentError", ErrorCodes.PERMANENT);
export type PermanentError = InstanceType<typeof PermanentError>;
/** Throw from a handler when a later attempt may succeed. */
export const TransientError = defineError("TransientError", ErrorCodes.TRANSIENT);
export type TransientError = InstanceType<typeof TransientError>;
export const DecodeError = defineError("DecodeError", ErrorCodes.DECODE);
export type DecodeError = InstanceType<typeof DecodeError>;
export const UnknownTypeError = defineError("UnknownTypeError", ErrorCodes.UNKNOWN_TYPE);
export type UnknownTypeError = InstanceType<typeof UnknownTypeError>;
export const UnknownVersionError = defineError("UnknownVersionError", ErrorCodes.UNKNOWN_VERSION);
export type UnknownVersionError = InstanceType<typeof UnknownVersionError>;
export const MessageTooLargeError = defineError("MessageTooLargeError", ErrorCodes.TOO_LARGE);
export type MessageTooLargeError = InstanceType<typeof MessageTooLargeError>;
export const UnroutableError = defineError("UnroutableError", ErrorCodes.UNROUTABLE);
export type UnroutableError = InstanceType<typeof UnroutableError>;
export const PublishTimeoutError = defineError("PublishTimeoutError", ErrorCodes.PUBLISH_TIMEOUT);
export type PublishTimeoutError = InstanceType<typeof PublishTimeoutError>;
export const ConnectionError = defineError("ConnectionError", ErrorCodes.CONNECTION);
export type ConnectionError = InstanceType<typeof ConnectionError>;
export const AuthenticationError = defineError("AuthenticationError", ErrorCodes.AUTH);
export type AuthenticationError = InstanceType<typeof AuthenticationError>;
export const ConfigurationError = defineError("ConfigurationError", ErrorCodes.CONFIG);
export type ConfigurationError = InstanceType<typeof ConfigurationError>;
export const RequestTimeoutError = defineError("RequestTimeoutError", ErrorCodes.REQUEST_TIMEOUT);
export type RequestTimeoutError = InstanceType<typeof RequestTimeoutError>;
export const HandlerTimeoutError = defineError("HandlerTimeoutError", ErrorCodes.HANDLER_TIMEOUT);
export type HandlerTimeoutError = InstanceType<typeof HandlerTimeoutError>;
export const ClosedError = defineError("ClosedError", ErrorCodes.CLOSED);
export type ClosedError = InstanceType<typeof ClosedError>;
export const DuplicateMessageError = defineError("DuplicateMessageError", ErrorCodes.DUPLICATE);
export type DuplicateMessageError = InstanceType<typeof DuplicateMessageError>;
export const LeaseLostError = defineError("LeaseLostError", ErrorCodes.LEASE_LOST);
export type LeaseLostError = InstanceType<typeof LeaseLostError>;
/** The spool is full and `whenFull` says reject (or the wait ran out): nothing was sent or spooled; publish again later. */
export const SpoolFullError = defineError("SpoolFullError", ErrorCodes.SPOOL_FULL);
export type SpoolFullError = InstanceType<typeof SpoolFullError>;

/** A message's expiry time passed before its handler ran: it is dead-lettered with reason `expired`, never handled, never retried. */
export const MessageExpiredError = defineError("MessageExpiredError", ErrorCodes.EXPIRED);
export type MessageExpiredError = InstanceType<typeof MessageExpiredError>;

/** `publish` refused the message before sending it: its data or attributes are something a consumer would refuse or JSON cannot carry. */
export const EncodeError = defineError("EncodeError", ErrorCodes.ENCODE);
export type EncodeError = InstanceType<typeof EncodeError>;

/** One issue reported by a Standard Schema validator. */
export interface SchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey>;
}

/** Data does not satisfy its contract's schema; `issues` says where and why. */
export class SchemaValidationError extends MissiveError {
  declare readonly code: typeof ErrorCodes.SCHEMA;
  readonly issues: readonly SchemaIssue[];
  constructor(message: string, issues: readonly SchemaIssue[], options?: MissiveErrorOptions) {
    super(ErrorCodes.SCHEMA, message, options);
    this.name = "SchemaValidationError";
    this.issues = issues;
  }
}

export function isMissiveError(err: unknown): err is MissiveError {
  return err instanceof MissiveError;
}

const NOT_RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.PERMANENT,
  ErrorCodes.DECODE,
  ErrorCodes.SCHEMA,
  ErrorCodes.UNKNOWN_TYPE,
  ErrorCodes.UNKNOWN_VERSION,
  ErrorCodes.TOO_LARGE,
  ErrorCodes.UNROUTABLE,
  ErrorCodes.AUTH,
  ErrorCodes.CONFIG,
  ErrorCodes.CLOSED,
  ErrorCodes.EXPIRED,
  ErrorCodes.ENCODE,
]);

/** True when a later attempt may succeed: transient, timeouts, connection loss, and errors missive does not know. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof MissiveError) return !NOT_RETRYABLE.has(err.code);
  return true;
}

/** Errors that mean the message itself is bad: no attempt can ever succeed. */
const POISON: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.DECODE,
  ErrorCodes.SCHEMA,
  ErrorCodes.UNKNOWN_TYPE,
  ErrorCodes.UNKNOWN_VERSION,
  ErrorCodes.TOO_LARGE,
]);

export function isPoison(err: unknown): boolean {
  return err instanceof MissiveError && POISON.has(err.code);
}

/** Errors that mean the deployment is wrong (credentials, configuration): fail fast, loudly. */
export function isFatal(err: unknown): boolean {
  return err instanceof MissiveError && (err.code === ErrorCodes.AUTH || err.code === ErrorCodes.CONFIG);
}
