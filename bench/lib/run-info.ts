/**
 * What a results file says about the run that wrote it: when, from which
 * commit (and which files had uncommitted changes), on what machine, with
 * which arguments. docs/performance.md prints it above the figures.
 *
 * The tree is read when the run starts, which is the code it measured (the
 * child processes load the sources then); `finishRunInfo` reads it again at
 * the end, so a results file also says when the tree changed mid-run.
 */
import { execFileSync } from "node:child_process";
import { cpus, platform, release, totalmem } from "node:os";
import { missiveCode, type MissiveCode } from "./compiled-missive.js";

export interface RunInfo {
  /** ISO 8601, when the results were written. */
  readonly date: string;
  /** ISO 8601, when the run started (absent from results written before it was recorded). */
  readonly started?: string;
  /** `git rev-parse --short HEAD` at the start, or null outside a git checkout. */
  readonly commit: string | null;
  /** True when the working tree had uncommitted changes at the start: the figures are not exactly `commit`'s. */
  readonly dirty: boolean | null;
  /** The tracked files with uncommitted changes at the start (absent from older results). */
  readonly uncommitted?: readonly string[];
  /** True when the commit or the uncommitted files differed at the end of the run from its start. */
  readonly changed_during_run?: boolean;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly memory_gb: number; readonly os: string; readonly node: string };
  /** The arguments `npm run bench` was given. */
  readonly args: readonly string[];
  /** Which missive the children ran: compiled (dist/), or the sources under tsx when dist/ was stale (absent from older results). */
  readonly missive_code?: MissiveCode;
  /** Why the children ran src/ (absent when they ran dist/). */
  readonly missive_code_reason?: string;
  /** The parts of the run that failed, with their error: their rows are missing (absent from older results). */
  readonly failures?: readonly BenchFailure[];
}

export interface BenchFailure {
  /** The part of the run (`postgres`, `outbox to RabbitMQ`, …). */
  readonly part: string;
  /** The error's first line. */
  readonly error: string;
}

function git(args: readonly string[]): string | null {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    // Not a git checkout (a tarball, a copy): the results say so with null rather than fail the run.
    return null;
  }
}

interface TreeState {
  readonly commit: string | null;
  /** null outside a git checkout. */
  readonly uncommitted: readonly string[] | null;
}

function treeState(): TreeState {
  const status = git(["status", "--porcelain", "--untracked-files=no"]);
  // Porcelain v1: two status letters, a space, the path (`old -> new` for a rename).
  const uncommitted = status === null ? null : status.split("\n").filter((line) => line !== "").map((line) => line.slice(3));
  return { commit: git(["rev-parse", "--short", "HEAD"]), uncommitted };
}

/** Read at the start of a run: the commit and the uncommitted files it measures. */
export function collectRunInfo(args: readonly string[]): RunInfo {
  const tree = treeState();
  const cores = cpus();
  const now = new Date().toISOString();
  const code = missiveCode();
  return {
    date: now,
    started: now,
    commit: tree.commit,
    dirty: tree.uncommitted === null ? null : tree.uncommitted.length > 0,
    ...(tree.uncommitted === null ? {} : { uncommitted: tree.uncommitted }),
    machine: {
      cpu: cores[0]?.model.trim() ?? "unknown",
      cores: cores.length,
      memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      os: `${platform()} ${release()}`,
      node: process.version,
    },
    args,
    missive_code: code.code,
    ...(code.reason === undefined ? {} : { missive_code_reason: code.reason }),
  };
}

/** At the end of a run: when it finished, and whether the tree moved while it ran. */
export function finishRunInfo(start: RunInfo, failures: readonly BenchFailure[]): RunInfo {
  const end = treeState();
  const changed = end.commit !== start.commit || JSON.stringify(end.uncommitted ?? null) !== JSON.stringify(start.uncommitted ?? null);
  return { ...start, date: new Date().toISOString(), changed_during_run: changed, failures };
}
