/**
 * The dead-letter admin: what an operator does to a dead-letter store during
 * an incident, over any transport with one (the CLI and the dashboard are
 * thin shells around it). Entries come with their diagnostics read back;
 * replay and discard work on ids or on a query, page by page, so a store of
 * any size is handled in bounded memory; an edited message is validated
 * against its contract before it may go back.
 */
import { hasFailureGroupIndex, type IndexedFailureGroup } from "../transport/failure-group-index.js";
import type { MessageDefinition } from "../contract/define-message.js";
import { DEFAULT_LIMITS, type SizeLimits } from "../envelope/limits.js";
import { ConfigurationError } from "../errors.js";
import { hasNativeDeadLetters } from "../transport/abilities.js";
import { checkDeadLetterDatabase, type DeadLetterDatabase } from "../stores/dead-letters.js";
import type { DeadLetter, DeadLetterFilter, DeadLetterQuery, DeadLetterStore, DeadLetterSummary, Transport } from "../transport/transport.js";
import { databaseDeadLetterStore } from "./database-dead-letters.js";
import { editedWire } from "./dead-letter-edit.js";
import { readDiagnostics, type DeadLetterDiagnostics } from "./diagnostics.js";

/** A dead letter with its diagnostics read out of its headers. */
export interface DeadLetterEntry extends DeadLetter {
  readonly diagnostics: DeadLetterDiagnostics;
}

export interface BulkOptions {
  /** Entries moved per store call (one transaction on SQLite). Default 500. */
  readonly batchSize?: number;
  /** Called after each batch with how many entries were handled so far and how many matched at the start. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Stop between batches; what was done stays done. */
  readonly signal?: AbortSignal;
}

export interface BulkResult {
  /** Entries matching the query when the run started. */
  readonly matched: number;
  /** Entries replayed or discarded. */
  readonly done: number;
}

export interface EditOptions {
  /** The contract to validate against; default: the admin's contract for the message's type. */
  readonly contract?: MessageDefinition;
  /** `false` replays the edit without a contract check. Default `true`. */
  readonly validate?: boolean;
}

export interface DeadLetterAdminOptions {
  /** Contracts that edited messages are validated against, by type. */
  readonly contracts?: readonly MessageDefinition[];
  /** Size limits an edited message must keep. Default DEFAULT_LIMITS. */
  readonly limits?: SizeLimits;
  /**
   * Work on this database dead-letter store (replays publish through the
   * transport) instead of the transport's native one. Default: the native one.
   */
  readonly deadLetters?: DeadLetterDatabase;
}

export interface DeadLetterAdmin {
  list(filter?: DeadLetterFilter): Promise<DeadLetterEntry[]>;
  get(entryId: string): Promise<DeadLetterEntry | undefined>;
  count(query?: DeadLetterQuery): Promise<number>;
  summary(query?: DeadLetterQuery): Promise<DeadLetterSummary[]>;
  /** Back to their queues, same message ids, at-least-once. Resolves with how many moved. */
  replay(entryIds: readonly string[]): Promise<number>;
  /** Every entry matching `query` when the run starts (entries dead-lettered again meanwhile are left alone). */
  replayWhere(query: DeadLetterQuery, options?: BulkOptions): Promise<BulkResult>;
  discard(entryIds: readonly string[]): Promise<number>;
  discardWhere(query: DeadLetterQuery, options?: BulkOptions): Promise<BulkResult>;
  /** Replace the message's data, validate it, and replay it (same id). Resolves false when the entry is gone. */
  edit(entryId: string, data: unknown, options?: EditOptions): Promise<boolean>;
  /** Failure groups from the store's own index (failure-group-index.ts); `undefined` when it keeps none. */
  indexedFailureGroups(query: { readonly group?: string }, now: number): Promise<IndexedFailureGroup[] | undefined>;
  /** A failure group's entries (oldest first) from the store's index; `undefined` when it keeps none. */
  indexedEntriesOf(signature: string, query: { readonly group?: string; readonly after?: string; readonly limit: number }): Promise<DeadLetterEntry[] | undefined>;
}

/** The admin over a database dead-letter store or a transport's own. Throws ConfigurationError when there is neither. */
export function deadLetterAdmin(transport: Transport, options: DeadLetterAdminOptions = {}): DeadLetterAdmin {
  const store = options.deadLetters !== undefined
    ? databaseDeadLetterStore(checkDeadLetterDatabase(options.deadLetters, "deadLetters"), transport)
    : hasNativeDeadLetters(transport) ? transport.deadLetters : undefined;
  if (!store) {
    throw new ConfigurationError(`transport ${transport.name} has no dead-letter store: its dead letters are published to the missive.dlq.<group> topics (or keep them in a database: the deadLetters option)`);
  }
  const contracts = new Map<string, MessageDefinition>();
  for (const c of options.contracts ?? []) contracts.set(c.type, c);
  return new Admin(store, contracts, options.limits ?? DEFAULT_LIMITS);
}

const withDiagnostics = (entry: DeadLetter): DeadLetterEntry => ({ ...entry, diagnostics: readDiagnostics(entry.wire.headers) });

class Admin implements DeadLetterAdmin {
  constructor(
    private readonly store: DeadLetterStore,
    private readonly contracts: ReadonlyMap<string, MessageDefinition>,
    private readonly limits: SizeLimits,
  ) {}

  async list(filter?: DeadLetterFilter): Promise<DeadLetterEntry[]> {
    return (await this.store.list(filter)).map(withDiagnostics);
  }

  async get(entryId: string): Promise<DeadLetterEntry | undefined> {
    const entry = await this.store.get(entryId);
    return entry && withDiagnostics(entry);
  }

  count(query?: DeadLetterQuery): Promise<number> {
    return this.store.count(query);
  }

  summary(query?: DeadLetterQuery): Promise<DeadLetterSummary[]> {
    return this.store.summary(query);
  }

  async indexedEntriesOf(signature: string, query: { readonly group?: string; readonly after?: string; readonly limit: number }): Promise<DeadLetterEntry[] | undefined> {
    if (!hasFailureGroupIndex(this.store)) return undefined;
    const entries = await Promise.all((await this.store.entriesOf(signature, query)).map((id) => this.get(id)));
    // An entry replayed or discarded between the two reads is simply not listed.
    return entries.filter((e): e is DeadLetterEntry => e !== undefined);
  }

  async indexedFailureGroups(query: { readonly group?: string }, now: number): Promise<IndexedFailureGroup[] | undefined> {
    return hasFailureGroupIndex(this.store) ? this.store.failureGroups(query, now) : undefined;
  }

  replay(entryIds: readonly string[]): Promise<number> {
    return this.store.replay(entryIds);
  }

  replayWhere(query: DeadLetterQuery, options?: BulkOptions): Promise<BulkResult> {
    return this.bulk(query, options, (ids) => this.store.replay(ids));
  }

  discard(entryIds: readonly string[]): Promise<number> {
    return this.store.discard(entryIds);
  }

  discardWhere(query: DeadLetterQuery, options?: BulkOptions): Promise<BulkResult> {
    return this.bulk(query, options, (ids) => this.store.discard(ids));
  }

  async edit(entryId: string, data: unknown, options?: EditOptions): Promise<boolean> {
    const entry = await this.store.get(entryId);
    if (!entry) return false;
    let contract: MessageDefinition | undefined;
    if (options?.validate !== false) {
      contract = options?.contract ?? this.contracts.get(entry.topic);
      if (!contract) throw new ConfigurationError(`no contract for message type ${JSON.stringify(entry.topic)} to validate the edit against: pass one, or validate: false`);
    }
    const wire = await editedWire(entry, data, contract, this.limits);
    return this.store.replayEdited(entryId, wire);
  }

  /**
   * Page through the entries that match now, acting on each page. The page
   * cursor moves forward past what was handled, and `until` stops at the
   * start time, so a message that fails again and comes back is not picked
   * up twice by the same run, and the run always ends.
   */
  private async bulk(query: DeadLetterQuery, options: BulkOptions | undefined, act: (ids: string[]) => Promise<number>): Promise<BulkResult> {
    const batchSize = options?.batchSize ?? 500;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      throw new ConfigurationError(`batchSize must be an integer from 1 to 10000, got ${String(batchSize)}`);
    }
    const bounded: DeadLetterQuery = { ...query, until: Math.min(query.until ?? Infinity, Date.now()) };
    const matched = await this.store.count(bounded);
    let done = 0;
    let after: string | undefined;
    while (!options?.signal?.aborted) {
      const page = await this.store.list({ ...bounded, limit: batchSize, ...(after === undefined ? {} : { after }) });
      if (page.length === 0) break;
      done += await act(page.map((e) => e.entryId));
      after = page[page.length - 1]!.entryId;
      options?.onProgress?.(done, matched);
      if (page.length < batchSize) break;
    }
    return { matched, done };
  }
}
