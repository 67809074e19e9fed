import { ConfigurationError, PermanentError, UnknownTypeError, UnknownVersionError } from "../errors.js";
import { versionOf, type Envelope } from "../envelope/envelope.js";
import type { MessageDefinition } from "./define-message.js";
import { validateWith } from "./validate.js";

/** The contracts one consumer accepts, by type. */
export class ContractRegistry {
  private readonly byType = new Map<string, MessageDefinition>();

  add(def: MessageDefinition): void {
    const existing = this.byType.get(def.type);
    if (existing && existing !== def) throw new ConfigurationError(`two contracts for message type ${def.type}`);
    this.byType.set(def.type, def);
  }

  get(type: string): MessageDefinition | undefined {
    return this.byType.get(type);
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  /**
   * Resolve an incoming envelope to its contract and validated, upcast data.
   * A message without a dataschema is taken to be of the current version.
   * Throws UnknownTypeError, UnknownVersionError or SchemaValidationError.
   */
  async read(envelope: Envelope): Promise<{ definition: MessageDefinition; data: unknown }> {
    const definition = this.byType.get(envelope.type);
    if (!definition) throw new UnknownTypeError(`no contract for message type ${JSON.stringify(envelope.type.slice(0, 200))}`);
    const version = envelope.dataschema === "" ? definition.version : versionOf(envelope.dataschema);
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
    const data = await validateWith(definition.schema, raw, `${definition.type} v${version}`);
    return { definition, data };
  }
}
