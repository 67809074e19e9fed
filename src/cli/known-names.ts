/**
 * A group or message type an operator named that does not exist is an
 * error naming what does (exit 4), not an empty answer: `dlq ls --group
 * biling` saying "no dead letters match" reads as "all is well". What exists
 * is what the transport reports (SQLite: the groups and bound topics known to
 * the file; RabbitMQ: the catalog's groups whose queue exists on the broker,
 * and their topics), plus whatever the dead-letter store holds entries of.
 * A transport that cannot list its queues cannot tell: nothing is refused.
 */
import type { DeadLetterAdmin } from "../runtime/dead-letter-admin.js";
import { canInspectQueues } from "../transport/abilities.js";
import type { DeadLetterQuery, Transport } from "../transport/transport.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { safeText } from "./output.js";

const SHOWN = 20;

export interface KnownNames {
  readonly groups: readonly string[];
  readonly types: readonly string[];
}

/** The durable groups and the types bound to them, sorted; undefined when the transport cannot list them. */
export async function knownNames(transport: Transport): Promise<KnownNames | undefined> {
  if (!canInspectQueues(transport)) return undefined;
  const stats = (await transport.stats()).filter((s) => !s.temporary);
  return {
    groups: [...new Set(stats.map((s) => s.group))].sort(),
    types: [...new Set(stats.flatMap((s) => s.topics))].sort(),
  };
}

/** The known names, escaped, at most SHOWN of them. */
function listed(known: readonly string[]): string {
  if (known.length === 0) return "none";
  return `${known.slice(0, SHOWN).map(safeText).join(", ")}${known.length > SHOWN ? `, and ${known.length - SHOWN} more` : ""}`;
}

/** `no group "x" (known groups: …)`. */
export function describeUnknown(what: "group" | "message type", name: string, known: readonly string[]): string {
  return `no ${what} ${JSON.stringify(safeText(name))} (known ${what}s: ${listed(known)})`;
}

/** For `tail`, whose argument may be either: `no group or message type "x" (known groups: …; known message types: …)`. */
export function describeUnknownTarget(name: string, known: KnownNames): string {
  return `no group or message type ${JSON.stringify(safeText(name))} (known groups: ${listed(known.groups)}; known message types: ${listed(known.types)})`;
}

/**
 * After a `dlq` filter matched nothing: throws (exit 4) when its `--group` or
 * `--type` names nothing that exists, so the empty answer is not mistaken
 * for "no dead letters".
 */
export async function assertFiltersExist(query: DeadLetterQuery, admin: DeadLetterAdmin, transport: Transport): Promise<void> {
  if (query.group === undefined && query.topic === undefined) return;
  const known = await knownNames(transport);
  if (!known) return;
  const problems: string[] = [];
  if (query.group !== undefined && !known.groups.includes(query.group) && (await admin.count({ group: query.group })) === 0) {
    problems.push(describeUnknown("group", query.group, known.groups));
  }
  if (query.topic !== undefined && !known.types.includes(query.topic) && (await admin.count({ topic: query.topic })) === 0) {
    problems.push(describeUnknown("message type", query.topic, known.types));
  }
  if (problems.length > 0) throw new CliError(problems.join("; "), ExitCode.notFound);
}
