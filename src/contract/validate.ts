import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ConfigurationError, SchemaValidationError, type SchemaIssue } from "../errors.js";

function toIssues(issues: ReadonlyArray<StandardSchemaV1.Issue>): SchemaIssue[] {
  return issues.map((i) => ({
    message: i.message,
    ...(i.path ? { path: i.path.map((p) => (typeof p === "object" && p !== null ? p.key : p)) } : {}),
  }));
}

function describe(what: string, issues: readonly SchemaIssue[]): string {
  const first = issues.slice(0, 3).map((i) => (i.path && i.path.length ? `${i.path.map(String).join(".")}: ` : "") + i.message);
  return `${what} does not match its schema: ${first.join("; ")}${issues.length > 3 ? ` (+${issues.length - 3} more)` : ""}`;
}

/**
 * Validate through Standard Schema (zod, valibot, arktype, …). Returns the
 * schema's output; throws SchemaValidationError with the issues.
 */
export async function validateWith<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, what: string): Promise<T> {
  let result: StandardSchemaV1.Result<T> | Promise<StandardSchemaV1.Result<T>>;
  try {
    result = schema["~standard"].validate(value);
    if (result instanceof Promise) result = await result;
  } catch (cause) {
    throw schemaThrew(what, cause);
  }
  return outcome(result, what);
}

/**
 * validateWith answered at once when the schema validates synchronously (zod, valibot and most do): the
 * output, or a promise of it only for a schema that validates asynchronously, with the same outcome and
 * errors (a synchronous failure is thrown). `what` is made only for an error: `${type} v${version}`.
 * For the consumer's hot path, where an async frame and its await per message cost more than the check.
 */
export function validateNow<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, type: string, version: number): PendingOr<T> {
  let result: StandardSchemaV1.Result<T> | Promise<StandardSchemaV1.Result<T>>;
  try {
    result = schema["~standard"].validate(value);
  } catch (cause) {
    throw schemaThrew(`${type} v${version}`, cause);
  }
  if (result instanceof Promise) {
    return {
      pending: result.then(
        (settled) => outcome(settled, `${type} v${version}`),
        (cause: unknown) => {
          throw schemaThrew(`${type} v${version}`, cause);
        },
      ),
    };
  }
  if (result.issues) throw issuesError(result.issues, `${type} v${version}`);
  // The schema's own success result carries the value: nothing is allocated for it.
  return result;
}

/**
 * A value now (a schema's success result, `{ value }`), or `{ pending }`, a promise of it: told apart by
 * `"pending" in`, since the value itself may be a promise.
 */
export type PendingOr<T> = { readonly value: T } | { readonly pending: Promise<T> };

/**
 * A validator that throws instead of reporting issues (a recursive schema
 * overflowing the stack on data nested thousands deep, a getter that throws):
 * the data does not satisfy the contract, so it is a schema error, with the
 * thrown value as its cause, never a bare RangeError or TypeError.
 */
function schemaThrew(what: string, cause: unknown): SchemaValidationError {
  const message = `${what}: its schema threw while validating (${cause instanceof Error ? cause.name : typeof cause})`;
  return new SchemaValidationError(message, [{ message }], { cause });
}

/**
 * Validate where no await is possible (inside a synchronous SQLite
 * transaction). A schema that validates asynchronously is a
 * ConfigurationError.
 */
export function validateSyncWith<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, what: string): T {
  let result: StandardSchemaV1.Result<T> | Promise<StandardSchemaV1.Result<T>>;
  try {
    result = schema["~standard"].validate(value);
  } catch (cause) {
    throw schemaThrew(what, cause);
  }
  if (result instanceof Promise) {
    // The ConfigurationError below is the answer; the abandoned validation's own outcome is moot.
    result.catch(() => undefined);
    throw new ConfigurationError(`${what}: the schema validates asynchronously, which a synchronous transaction cannot wait for`);
  }
  return outcome(result, what);
}

function outcome<T>(result: StandardSchemaV1.Result<T>, what: string): T {
  if (result.issues) throw issuesError(result.issues, what);
  return result.value;
}

function issuesError(found: ReadonlyArray<StandardSchemaV1.Issue>, what: string): SchemaValidationError {
  const issues = toIssues(found);
  return new SchemaValidationError(describe(what, issues), issues);
}
