/** missive: reliable messaging by default. The public API, and nothing else. */
// The shipped transports register their URL schemes (no broker client loads until its scheme is used).
import "./transports/builtin.js";
export { missive, resolveTransport } from "./connect.js";
export type { Bus, RequestOptions } from "./runtime/bus.js";
export type { BusOptions, PublisherOptions, SpoolOptions } from "./runtime/bus-options.js";
export type { TransportInboxHandles, TransportInbox, InboxWord } from "./runtime/inbox-handles.js";
export type { StatusEvent, StatusListener, ProducerStatus } from "./runtime/status.js";
export type { SpoolDepth } from "./runtime/spool.js";
export type { ConsumeOptions, RetryOptions } from "./runtime/consume-options.js";
export type { ServiceLevelOption } from "./runtime/service-level.js";
export type { Consumer, ConsumerStats } from "./runtime/consumer.js";
export type { ConsumerState } from "./runtime/consumer-lifecycle.js";
export type { BusHealth, ConsumerHealth } from "./runtime/health.js";
export { healthHandler, type HealthHandler, type HealthHandlerOptions, type HealthSource } from "./health/http.js";
export type { Handler, HandlerContext, Middleware } from "./runtime/handler-context.js";
export type { PublishOptions, PublishReceipt } from "./runtime/publish-options.js";
export type { Duration } from "./runtime/duration.js";
export type { BreakerOptions, BreakerState } from "./runtime/circuit-breaker.js";
export type { RateLimitOptions } from "./runtime/token-bucket.js";
export { classifyFailure, retryDelay, type FailureDecision, type RetrySettings } from "./runtime/failure-policy.js";
export { fullJitterDelay, type Random } from "./runtime/backoff.js";
export { DIAGNOSTIC_PREFIX, DiagnosticHeaders, readDiagnostics, type DeadLetterDiagnostics } from "./runtime/diagnostics.js";
export {
  deadLetterAdmin, type DeadLetterAdmin, type DeadLetterAdminOptions, type DeadLetterEntry, type BulkOptions, type BulkResult, type EditOptions,
} from "./runtime/dead-letter-admin.js";

export { defineMessage, type MessageDefinition, type MessageDefinitionOptions, type MessageData, type MessageInput } from "./contract/define-message.js";

export type { Envelope } from "./envelope/envelope.js";
export type { WireMessage } from "./envelope/wire.js";
export { DEFAULT_LIMITS, type SizeLimits } from "./envelope/limits.js";
export { encodeEnvelope, decodeEnvelope, type ContentMode, type DecodeResult } from "./envelope/codec.js";
export { uuidv7, isUuidV7 } from "./envelope/uuidv7.js";

export { timeoutMiddleware } from "./middleware/timeout.js";
export { compose } from "./middleware/compose.js";

export type { InboxStore, InboxOutcome } from "./stores/inbox.js";
export type { DeadLetterDatabase, NewDeadLetter } from "./stores/dead-letters.js";
export type { OutboxAddOptions, OutboxLag, OutboxReceipt, OutboxSettings } from "./stores/outbox.js";
export type { OutboxRelay, RelayOptions, RelayStats } from "./stores/relay.js";
export type { Logger } from "./observability/logger.js";
export type {
  Transport, TransportCapabilities, TransportContext, TransportEvent, Delivery, Subscription, SubscribeOptions, OutgoingMessage,
  PublishResult, DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterSummary, DeadLetterStore, DurabilityReport, QueueStats,
} from "./transport/transport.js";
export { deadLetterTopic } from "./transport/transport.js";
export {
  hasNativeDeadLetters, canInspectQueues, reportsDurability, declaresTopology, hasReplyAddress, canPing, acksWithinTransaction, publishesInTransaction, reportsServices, inspectsKeyBacklog,
  type NativeDeadLetters, type QueueInspection, type DurabilityReporting, type TopologyDeclaration, type ReplyAddress, type ReplyInbox, type BrokerPing,
  type AckWithinTransaction, type TransactionAckEnd, type TransactionalPublish, type ServiceReporting, type KeyBacklogInspection, type KeyBacklog,
} from "./transport/abilities.js";
export { LATENCY_BUCKETS_MS, serviceReportOf } from "./transport/service-report.js";
export type {
  ServiceReport, ConsumerTypeReport, ConsumerGroupReport, ProducerReport, OutboxReport, LatencySummary, BlockedKey, KeyLag, ServiceLevel,
} from "./transport/service-report.js";
export { hasFailureGroupIndex, type FailureGroupIndex, type IndexedFailureGroup } from "./transport/failure-group-index.js";
export { registerTransport, type TransportRegistration, type OpenedTransport, type OpenOptions } from "./transport/registry.js";

export {
  ErrorCodes, MissiveError, PermanentError, TransientError, DecodeError, SchemaValidationError,
  UnknownTypeError, UnknownVersionError, MessageTooLargeError, UnroutableError, PublishTimeoutError,
  ConnectionError, AuthenticationError, ConfigurationError, RequestTimeoutError, HandlerTimeoutError,
  ClosedError, DuplicateMessageError, LeaseLostError, SpoolFullError, MessageExpiredError, EncodeError, isMissiveError, isRetryable, isPoison, isFatal,
  type ErrorCode, type SchemaIssue,
} from "./errors.js";
export { MISSIVE_VERSION } from "./version.js";
export { PRIORITY_LEVELS, MAX_PRIORITY } from "./envelope/expiry-priority.js";
