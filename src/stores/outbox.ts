/**
 * The transactional outbox (docs/contract.md §8), the part every dialect shares:
 * `add` validates the data against its contract and encodes the envelope at
 * once, in the caller's transaction, so a bad message is a typed error there
 * (SchemaValidationError, MessageTooLargeError, ConfigurationError) and never
 * a row the relay cannot send. A row holds the wire message exactly as it
 * will be published (headers, body, topic, key, id): every retry of the relay
 * publishes the same bytes under the same id.
 */
import { createHash } from "node:crypto";
import { ConfigurationError } from "../errors.js";
import type { MessageDefinition } from "../contract/define-message.js";
import { validateSyncWith, validateWith } from "../contract/validate.js";
import { encodeEnvelope, type ContentMode } from "../envelope/codec.js";
import { DEFAULT_LIMITS, type SizeLimits } from "../envelope/limits.js";
import { uuidv7 } from "../envelope/uuidv7.js";
import { createSpan } from "../observability/telemetry.js";
import { buildEnvelope } from "../runtime/build-envelope.js";
import type { PublishOptions } from "../runtime/publish-options.js";
import { describeValue, optionsObject } from "./sql/names.js";

/** Settings every outbox takes besides its database. */
export interface OutboxSettings {
  /** The producing service, written as each message's CloudEvents `source`. Required. */
  readonly source: string;
  /** Outbox table name (`[a-z][a-z0-9_]*`, at most 48 characters). Default `missive_outbox`. */
  readonly table?: string;
  /** `binary` (attributes in headers, default) or `structured` (one JSON document). */
  readonly mode?: ContentMode;
  /** Size limits checked at add time. Default DEFAULT_LIMITS (1 MiB body). */
  readonly limits?: Partial<SizeLimits>;
}

/** What `add` accepts besides the data: a publish's options without delay or reply address. */
export type OutboxAddOptions = Pick<PublishOptions, "id" | "key" | "correlationId" | "causationId" | "extensions" | "traceparent" | "tracestate">;

export interface OutboxReceipt {
  /** The message id (UUIDv7 unless given): the relay publishes under this id, every time. */
  readonly id: string;
}

/** How far behind a relay is: what `missive outbox status` and metrics show. */
export interface OutboxLag {
  /** Rows not yet confirmed by the transport. */
  readonly unsent: number;
  /** Age in ms of the oldest unsent row; `undefined` when there is none. */
  readonly oldestAgeMs: number | undefined;
}

/** One outbox row as written. */
export interface OutboxRecord {
  readonly id: string;
  readonly topic: string;
  readonly key: string | null;
  /** Rows of one lane are published in sequence order: the key, or the id for an unkeyed message. */
  readonly lane: string;
  /** The wire headers as a JSON object of strings. */
  readonly headers: string;
  readonly body: Buffer;
  /** Unix ms. */
  readonly createdAt: number;
}

/** Ids, keys and topics longer than this are refused (they must fit indexed columns on every database). */
export const MAX_ID_LENGTH = 255;
const MAX_PLAIN_LANE = 120;

/** The lane of a row: `k:<key>`, a digest for long keys (the column is indexed), `i:<id>` when unkeyed. */
export function laneOf(key: string | null, id: string): string {
  if (key === null) return `i:${id}`;
  if (key.length <= MAX_PLAIN_LANE) return `k:${key}`;
  return `h:${createHash("sha256").update(key).digest("hex")}`;
}

/** Encodes `add` calls for one outbox: settings checked once, here. */
export class OutboxEncoder {
  readonly source: string;
  private readonly mode: ContentMode;
  private readonly limits: SizeLimits;

  constructor(settings: OutboxSettings, what: string) {
    const s = optionsObject<OutboxSettings>(settings, what);
    if (typeof s.source !== "string" || s.source.length === 0 || s.source.length > MAX_ID_LENGTH) {
      throw new ConfigurationError(`${what}: \`source\` (the producing service) must be a non-empty string, got ${describeValue(s.source)}`);
    }
    if (s.mode !== undefined && s.mode !== "binary" && s.mode !== "structured") throw new ConfigurationError(`${what}: \`mode\` must be "binary" or "structured"`);
    const limits = optionsObject<SizeLimits>(s.limits, `${what} limits`);
    for (const name of Object.keys(limits)) {
      const v = (limits as Record<string, unknown>)[name];
      if (!(name in DEFAULT_LIMITS) || typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new ConfigurationError(`${what}: limit ${JSON.stringify(name)} must be a known limit with a positive integer value`);
    }
    this.source = s.source;
    this.mode = s.mode ?? "binary";
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Validate (awaiting an async schema) and encode. */
  async encode(definition: MessageDefinition<string, unknown, unknown>, data: unknown, options?: OutboxAddOptions): Promise<OutboxRecord> {
    const opts = this.check(definition, options);
    const value = await validateWith(definition.schema, data, `${definition.type} v${definition.version}`);
    return this.record(definition, value, opts);
  }

  /** Validate and encode without awaiting (SQLite transactions are synchronous). */
  encodeSync(definition: MessageDefinition<string, unknown, unknown>, data: unknown, options?: OutboxAddOptions): OutboxRecord {
    const opts = this.check(definition, options);
    const value = validateSyncWith(definition.schema, data, `${definition.type} v${definition.version}`);
    return this.record(definition, value, opts);
  }

  private check(definition: MessageDefinition<string, unknown, unknown>, options: OutboxAddOptions | undefined): Partial<OutboxAddOptions> {
    const d = definition as Partial<MessageDefinition<string, unknown, unknown>> | null;
    if (d === null || typeof d !== "object" || typeof d.type !== "string" || typeof d.keyOf !== "function" || typeof d.schema?.["~standard"]?.validate !== "function") {
      throw new ConfigurationError("outbox.add: the second argument must be a contract made by defineMessage");
    }
    if (d.type.length > MAX_ID_LENGTH) throw new ConfigurationError(`outbox.add: message type longer than ${MAX_ID_LENGTH} characters`);
    const opts = optionsObject<OutboxAddOptions & { delay: unknown; replyTo: unknown }>(options, "outbox.add");
    if (opts.delay !== undefined || opts.replyTo !== undefined) throw new ConfigurationError("outbox.add: `delay` and `replyTo` are not outbox options");
    for (const name of ["id", "key", "correlationId", "causationId", "traceparent", "tracestate"] as const) {
      const v = opts[name];
      if (v !== undefined && (typeof v !== "string" || v.length === 0 || v.length > (name === "key" ? 4096 : MAX_ID_LENGTH))) {
        throw new ConfigurationError(`outbox.add: \`${name}\` must be a non-empty string of at most ${name === "key" ? 4096 : MAX_ID_LENGTH} characters, got ${describeValue(v)}`);
      }
    }
    if (opts.extensions !== undefined && (opts.extensions === null || typeof opts.extensions !== "object")) throw new ConfigurationError("outbox.add: `extensions` must be an object");
    return opts;
  }

  private record(definition: MessageDefinition<string, unknown, unknown>, value: unknown, opts: Partial<OutboxAddOptions>): OutboxRecord {
    const id = opts.id ?? uuidv7();
    const envelope = buildEnvelope(this.source, definition, value, opts, id, createSpan(definition.type, id));
    const wire = encodeEnvelope(envelope, this.mode, this.limits);
    const key = envelope.key ?? null;
    if (key !== null && key.length > 4096) throw new ConfigurationError("outbox.add: the contract's key is longer than 4096 characters");
    return {
      id,
      topic: definition.type,
      key,
      lane: laneOf(key, id),
      headers: JSON.stringify(wire.headers),
      body: Buffer.from(wire.body.buffer, wire.body.byteOffset, wire.body.byteLength),
      createdAt: Date.now(),
    };
  }
}
