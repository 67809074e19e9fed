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
  if (result.issues) {
    const issues = toIssues(result.issues);
    throw new SchemaValidationError(describe(what, issues), issues);
  }
  return result.value;
}
