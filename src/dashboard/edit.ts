/**
 * Edit-then-replay from the page: new data for one dead letter, checked the
 * way `missive dlq edit` checks it (the runtime's editedWire: it must decode,
 * and its contract must accept it, upcasters included), shown as a diff of
 * the change first, then replayed under the same message id through the
 * dead-letter admin. The contract comes from the dashboard's `contracts`
 * (`--contracts`): without one for the type, nothing is replayed unchecked.
 */
import type { MessageDefinition } from "../contract/define-message.js";
import { DEFAULT_LIMITS } from "../envelope/limits.js";
import { SchemaValidationError } from "../errors.js";
import type { DeadLetterAdmin } from "../runtime/dead-letter-admin.js";
import { editedWire } from "../runtime/dead-letter-edit.js";
import type { AuditTrail } from "./audit.js";
import { payloadOf } from "./payload-search.js";
import { DashboardRequestError } from "./request-error.js";

export interface Change {
  /** Dotted path of the changed value; `` for the whole data. */
  readonly path: string;
  /** `undefined` (left out of the JSON) when the value was added. */
  readonly before?: unknown;
  /** `undefined` when the value was removed. */
  readonly after?: unknown;
}

export type EditOutcome =
  | { readonly ok: true; readonly replayed: boolean; readonly contract: string; readonly changes: readonly Change[] }
  | { readonly ok: false; readonly error: string; readonly issues: readonly string[]; readonly changes: readonly Change[] };

/** Leaf-level differences of two JSON values, in a stable order. */
export function diff(before: unknown, after: unknown, path = ""): Change[] {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object";
  if (isObject(before) && isObject(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => {
      const at = path === "" ? k : `${path}.${k}`;
      if (!Object.hasOwn(after, k)) return [{ path: at, before: before[k] }];
      if (!Object.hasOwn(before, k)) return [{ path: at, after: after[k] }];
      return diff(before[k], after[k], at);
    });
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path, before, after }];
}

export class Editor {
  constructor(
    private readonly admin: DeadLetterAdmin,
    private readonly contracts: ReadonlyMap<string, MessageDefinition>,
    private readonly audit: AuditTrail,
  ) {}

  /** Check `data` for the entry (and replay it unless `dryRun`). A refusal by the contract is an outcome, not an error. */
  async edit(entryId: string, data: unknown, dryRun: boolean, who: string): Promise<EditOutcome> {
    const entry = await this.admin.get(entryId);
    if (entry === undefined) throw new DashboardRequestError(404, "no dead letter with that entry id (replayed or discarded meanwhile?)");
    const contract = this.contracts.get(entry.topic);
    if (contract === undefined) {
      throw new DashboardRequestError(409, `no contract for ${entry.topic} to check the edit against: start the dashboard with --contracts <module> (or pass contracts)`);
    }
    const changes = diff(payloadOf(entry), data);
    let outcome: EditOutcome;
    try {
      await editedWire(entry, data, contract, DEFAULT_LIMITS);
      const replayed = !dryRun && (await this.admin.edit(entryId, data, { contract }));
      if (!dryRun && !replayed) throw new DashboardRequestError(404, "the dead letter went meanwhile (replayed or discarded): nothing was replayed");
      outcome = { ok: true, replayed, contract: `${contract.type} v${contract.version}`, changes };
    } catch (err) {
      if (err instanceof DashboardRequestError) throw err;
      // What the contract or the decoder refused is the answer the operator needs, with the issues to fix.
      const issues = err instanceof SchemaValidationError ? err.issues.map((i) => `${pathOf(i.path)}${i.message}`) : [];
      outcome = { ok: false, error: err instanceof Error ? err.message : String(err), issues, changes };
    }
    await this.audit.record({
      at: new Date().toISOString(), who, action: dryRun ? "dry-run-edit" : "edit", target: { ids: [entryId] },
      matched: 1, done: outcome.ok && outcome.replayed ? 1 : 0, outcome: outcome.ok ? "completed" : `refused: ${outcome.error}`,
    });
    return outcome;
  }
}

function pathOf(path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined): string {
  if (path === undefined || path.length === 0) return "";
  return `${path.map((p) => String(typeof p === "object" && p !== null ? p.key : p)).join(".")}: `;
}
