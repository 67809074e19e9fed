import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ConfigurationError } from "../errors.js";
import { isPriority } from "../envelope/expiry-priority.js";
import { toMs, type Duration } from "../runtime/duration.js";

/** Turns data of version N into data of version N + 1. */
export type Upcaster = (older: never) => unknown;

export interface MessageDefinitionOptions<TType extends string, TSchema extends StandardSchemaV1> {
  /** The message type, e.g. `order.created`: letters, digits, `.`, `_`, `-`, `:`, `/`. */
  readonly type: TType;
  /** The current version (a positive integer). Default 1. */
  readonly version?: number;
  /** Any Standard Schema (zod, valibot, arktype, …) for the current version. */
  readonly schema: TSchema;
  /** The ordering and partition key of a message. Without it a message has no key (and no per-key order). */
  readonly key?: (data: StandardSchemaV1.InferOutput<TSchema>) => string;
  /**
   * Upcasters by the version they start from: `{ 1: (v1) => v2 }` turns a v1
   * message into v2. Older messages are carried up step by step to the
   * current version, then validated against `schema`.
   */
  readonly upcast?: Readonly<Record<number, (older: never) => unknown>>;
  /**
   * Messages of this type are not handled after this long (dead-lettered
   * with reason `expired`); a publish's `expiresIn` overrides it. Default: never.
   */
  readonly expiresIn?: Duration;
  /** Priority of this type's messages, 0 (lowest) to 9; a publish's `priority` overrides it. Default: none (0). */
  readonly priority?: number;
}

/** A versioned, validated message contract. Create one with `defineMessage`. */
export interface MessageDefinition<TType extends string = string, TData = unknown, TInput = TData> {
  readonly type: TType;
  readonly version: number;
  readonly schema: StandardSchemaV1<TInput, TData>;
  /** The ordering key of `data`, or undefined for an unkeyed contract. (A method, so contracts of any data type fit `MessageDefinition`.) */
  keyOf(data: TData): string | undefined;
  /** The oldest version a consumer of this contract still accepts. */
  readonly minVersion: number;
  /** Upcast `data` written at `fromVersion` to the current version (no validation). */
  upcastFrom(fromVersion: number, data: unknown): unknown;
  /** Default expiry of a message, ms after its publish; undefined: never. */
  readonly expiresInMs?: number;
  /** Default priority, 0–9; undefined: none. */
  readonly priority?: number;
}

/** The data type of a message definition. */
export type MessageData<M> = M extends MessageDefinition<string, infer T, unknown> ? T : never;
/** What `publish` accepts for a message definition (the schema's input type). */
export type MessageInput<M> = M extends MessageDefinition<string, unknown, infer I> ? I : never;

const TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/;

export function defineMessage<TType extends string, TSchema extends StandardSchemaV1>(
  options: MessageDefinitionOptions<TType, TSchema>,
): MessageDefinition<TType, StandardSchemaV1.InferOutput<TSchema>, StandardSchemaV1.InferInput<TSchema>> {
  const version = options.version ?? 1;
  if (!TYPE_PATTERN.test(options.type)) throw new ConfigurationError(`invalid message type ${JSON.stringify(options.type)}`);
  if (!Number.isInteger(version) || version < 1) throw new ConfigurationError(`version of ${options.type} must be a positive integer`);
  if (!options.schema || typeof options.schema["~standard"]?.validate !== "function") {
    throw new ConfigurationError(`schema of ${options.type} is not a Standard Schema (zod, valibot, arktype, …)`);
  }
  const upcasters = new Map<number, (older: unknown) => unknown>();
  for (const [from, fn] of Object.entries(options.upcast ?? {})) {
    const v = Number(from);
    if (!Number.isInteger(v) || v < 1 || v >= version) throw new ConfigurationError(`upcaster of ${options.type} from version ${from} is out of range 1..${version - 1}`);
    if (typeof fn !== "function") throw new ConfigurationError(`upcaster of ${options.type} from version ${from} is not a function`);
    upcasters.set(v, fn as (older: unknown) => unknown);
  }
  const expiresInMs = options.expiresIn === undefined ? undefined : toMs(options.expiresIn, `expiresIn of ${options.type}`);
  if (expiresInMs !== undefined && expiresInMs <= 0) throw new ConfigurationError(`expiresIn of ${options.type} must be positive`);
  if (options.priority !== undefined && !isPriority(options.priority)) throw new ConfigurationError(`priority of ${options.type} must be an integer from 0 to 9`);
  let minVersion = version;
  while (upcasters.has(minVersion - 1)) minVersion--;
  type Out = StandardSchemaV1.InferOutput<TSchema>;
  return Object.freeze({
    type: options.type,
    version,
    schema: options.schema as StandardSchemaV1<StandardSchemaV1.InferInput<TSchema>, Out>,
    keyOf(data: Out): string | undefined {
      return options.key ? options.key(data) : undefined;
    },
    minVersion,
    upcastFrom(fromVersion: number, data: unknown): unknown {
      let value = data;
      for (let v = fromVersion; v < version; v++) value = upcasters.get(v)!(value);
      return value;
    },
    ...(expiresInMs === undefined ? {} : { expiresInMs }),
    ...(options.priority === undefined ? {} : { priority: options.priority }),
  });
}
