/**
 * The dead-letter filters every `dlq` command takes, turned into a
 * DeadLetterQuery: `--error` with a MISSIVE_* code filters on the error
 * code, anything else on the error class.
 */
import type { Command } from "commander";
import type { DeadLetterQuery } from "../transport/transport.js";
import { parseTime } from "./time.js";

export interface FilterOptions {
  readonly group?: string;
  readonly type?: string;
  readonly error?: string;
  readonly id?: string;
  readonly since?: string;
  readonly until?: string;
}

export function addFilterOptions(command: Command): Command {
  return command
    .option("--group <group>", "only this consumer group")
    .option("--type <type>", "only this message type")
    .option("--error <code|class>", "only this error: a MISSIVE_* code (e.g. MISSIVE_SCHEMA) or an error class (e.g. PermanentError)")
    .option("--id <messageId>", "only this message id")
    .option("--since <time>", "dead-lettered at or after: ISO 8601 or how long ago (30m, 2h, 7d)")
    .option("--until <time>", "dead-lettered at or before: ISO 8601 or how long ago");
}

export function queryOf(options: FilterOptions, now: number = Date.now()): DeadLetterQuery {
  const error = options.error;
  return {
    ...(options.group !== undefined ? { group: options.group } : {}),
    ...(options.type !== undefined ? { topic: options.type } : {}),
    ...(error !== undefined ? (/^MISSIVE_/.test(error) ? { errorCode: error } : { errorClass: error }) : {}),
    ...(options.id !== undefined ? { messageId: options.id } : {}),
    ...(options.since !== undefined ? { since: parseTime(options.since, "--since", now) } : {}),
    ...(options.until !== undefined ? { until: parseTime(options.until, "--until", now) } : {}),
  };
}

export const hasFilter = (query: DeadLetterQuery): boolean => Object.keys(query).length > 0;

/** The query as an operator would read it back: CLI option names, ISO times. */
export function describeQuery(query: DeadLetterQuery): Record<string, string> {
  return Object.fromEntries(
    Object.entries({
      group: query.group,
      type: query.topic,
      error: query.errorCode ?? query.errorClass,
      id: query.messageId,
      since: query.since === undefined ? undefined : new Date(query.since).toISOString(),
      until: query.until === undefined ? undefined : new Date(query.until).toISOString(),
    }).filter((e): e is [string, string] => e[1] !== undefined),
  );
}
