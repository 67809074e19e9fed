/**
 * A progress line for long bulk runs: `\r`-redrawn on stderr, only when
 * stderr is a terminal (a pipe or a log file gets the final summary only).
 */

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): boolean;
}

export interface Progress {
  update(done: number, total: number): void;
  /** Clear the line (before the summary is printed). */
  finish(): void;
}

const WIDTH = 30;
const EVERY_MS = 100;

export function progressLine(verb: string, stream: ProgressStream = process.stderr, now: () => number = Date.now): Progress {
  if (!stream.isTTY) return { update: () => undefined, finish: () => undefined };
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      const t = now();
      if (drawn && t - last < EVERY_MS && done < total) return;
      last = t;
      drawn = true;
      const ratio = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(ratio * WIDTH);
      stream.write(`\r${verb} [${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${done}/${total} ${Math.floor(ratio * 100)}%`);
    },
    finish() {
      if (drawn) stream.write(`\r${" ".repeat(WIDTH + 40 + verb.length)}\r`);
      drawn = false;
    },
  };
}
