import { ConfigurationError, PermanentError, UnknownTypeError, UnknownVersionError } from "../errors.js";
import { dataschemaOf, versionOf, type Envelope } from "../envelope/envelope.js";
import type { MessageDefinition } from "./define-message.js";
import { validateNow, type PendingOr } from "./validate.js";

interface Entry {
  readonly definition: MessageDefinition;
  /**
   * The contract's own current dataschema (`order.created/v2`), which almost every message carries: a
   * string comparison then stands in for parsing the version out of it. Set only where versionOf reads
   * exactly the current version back from it, so the answer is the same either way.
   */
  readonly currentSchema: string | undefined;
}

/** The contracts one consumer accepts, by type. */
export class ContractRegistry {
  private readonly byType = new Map<string, Entry>();

  add(def: MessageDefinition): void {
    const existing = this.byType.get(def.type)?.definition;
    if (existing && existing !== def) throw new ConfigurationError(`two contracts for message type ${def.type}`);
    const current = dataschemaOf(def.type, def.version);
    this.byType.set(def.type, { definition: def, currentSchema: versionOf(current) === def.version ? current : undefined });
  }

  get(type: string): MessageDefinition | undefined {
    return this.byType.get(type)?.definition;
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  /**
   * Resolve an incoming envelope to its contract and validated, upcast data.
   * A message without a dataschema is taken to be of the current version.
   * Rejects with UnknownTypeError, UnknownVersionError or SchemaValidationError.
   */
  async read(envelope: Envelope): Promise<{ definition: MessageDefinition; data: unknown }> {
    const read = this.readNow(envelope);
    const data = "pending" in read ? await read.pending : read.value;
    return { definition: this.byType.get(envelope.type)!.definition, data };
  }

  /**
   * read() for the consumer's hot path, without an async frame: the validated data now (or a promise
   * of it when the schema validates asynchronously). Throws what read() rejects with.
   */
  readNow(envelope: Envelope): PendingOr<unknown> {
    const entry = this.byType.get(envelope.type);
    if (!entry) throw new UnknownTypeError(`no contract for message type ${JSON.stringify(envelope.type.slice(0, 200))}`);
    const { definition, currentSchema } = entry;
    const schema = envelope.dataschema;
    const version = schema === "" || schema === currentSchema ? definition.version : versionOf(schema);
    if (version === undefined) throw new UnknownVersionError(`dataschema ${JSON.stringify(envelope.dataschema.slice(0, 200))} names no version`);
    if (version > definition.version || version < definition.minVersion) {
      throw new UnknownVersionError(`${definition.type} v${version} is not accepted (accepts v${definition.minVersion}..v${definition.version})`);
    }
    let raw = envelope.data;
    if (version < definition.version) {
      try {
        raw = definition.upcastFrom(version, raw);
      } catch (cause) {
        throw new PermanentError(`upcasting ${definition.type} from v${version} failed`, { cause });
      }
    }
    return validateNow(definition.schema, raw, definition.type, version);
  }
}
