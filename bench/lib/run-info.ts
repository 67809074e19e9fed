/**
 * What a results file says about the run that wrote it: when, from which
 * commit (and whether the tree had uncommitted changes), on what machine,
 * with which arguments. docs/performance.md prints it above the figures.
 */
import { execFileSync } from "node:child_process";
import { cpus, platform, release, totalmem } from "node:os";

export interface RunInfo {
  /** ISO 8601, when the results were written. */
  readonly date: string;
  /** `git rev-parse --short HEAD`, or null outside a git checkout. */
  readonly commit: string | null;
  /** True when the working tree had uncommitted changes: the figures are not exactly `commit`'s. */
  readonly dirty: boolean | null;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly memory_gb: number; readonly os: string; readonly node: string };
  /** The arguments `npm run bench` was given. */
  readonly args: readonly string[];
}

function git(args: readonly string[]): string | null {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    // Not a git checkout (a tarball, a copy): the results say so with null rather than fail the run.
    return null;
  }
}

export function collectRunInfo(args: readonly string[]): RunInfo {
  const status = git(["status", "--porcelain", "--untracked-files=no"]);
  const cores = cpus();
  return {
    date: new Date().toISOString(),
    commit: git(["rev-parse", "--short", "HEAD"]),
    dirty: status === null ? null : status.length > 0,
    machine: {
      cpu: cores[0]?.model.trim() ?? "unknown",
      cores: cores.length,
      memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      os: `${platform()} ${release()}`,
      node: process.version,
    },
    args,
  };
}
