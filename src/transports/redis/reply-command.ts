/**
 * A command whose reply can die in the first scavenge after it is taken.
 *
 * ioredis's Command makes closures inside its promise's executor (its
 * resolve wraps the reply's conversion, its reject the error's stack), and a
 * promise whose executor made a closure kept its value past every scavenge,
 * until a mark-compact (bench/probes/reply-retention.mjs, Node 20: 43 KB
 * replies, arrayBuffers 48-50 MB kept, against 1.8-2.7 MB through the
 * promise's own resolve and reject). Swapping a finished Command's promise
 * afterwards is too late (still 49 MB): the closures must never be made. A
 * read's reply is a view of the socket chunk it came in, so a Redis drain
 * kept every read's chunks: arrayBuffers 0.2 -> 30 MB and RSS +24 MB over
 * 100,000 messages (issue 17).
 *
 * This command settles through the promise's own resolve and reject, taken
 * by an executor that makes no closure, and clears its timeout timer in a
 * reaction once settled. Its reply comes as ioredis parsed it (Buffers, no
 * conversion to strings); an error keeps ioredis's own stack. It leans on
 * two of Command's members its types call private (`initPromise`, which the
 * constructor calls, and `_clearTimers`), checked by test/transports/redis-reply-command.redis.test.ts.
 */
import { Command } from "ioredis";

type Argument = string | number | Buffer;

/** What the executor took: read right after the promise is made (the executor runs synchronously). */
let taken: { resolve: (value: unknown) => void; reject: (err: Error) => void } | undefined;

/** Declared once, so the executor is no new closure either. */
function take(resolve: (value: unknown) => void, reject: (err: Error) => void): void {
  taken = { resolve, reject };
}

/** Command's members this file uses, as they are at run time. */
interface CommandInside {
  promise: Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  /** Numbers to strings; a Buffer argument switches the command to buffer mode. */
  stringifyArguments(): void;
  /** Stops the command's timeout and blocking timers. */
  _clearTimers(): void;
}

const CommandBase = Command as unknown as new (name: string, args: Argument[], options: { replyEncoding: null }) => CommandInside;

class ReplyCommand extends CommandBase {
  /** Called by Command's constructor in place of its own. */
  initPromise(): void {
    this.stringifyArguments();
    this.promise = new Promise<unknown>(take);
    const settle = taken!;
    taken = undefined;
    this.resolve = settle.resolve;
    this.reject = settle.reject;
    // Looked up, not assumed: a release of ioredis without it leaves the timer to fire on a settled promise (no effect).
    const clear = (): void => {
      if (typeof this._clearTimers === "function") this._clearTimers();
    };
    // The caller takes the rejection from `promise`; this reaction only stops the timers.
    void this.promise.then(clear, clear);
  }
}

/** `name args…` for `redis.sendCommand`: its promise resolves with the raw reply. */
export function replyCommand(name: string, args: readonly Argument[]): Command {
  return new ReplyCommand(name, [...args], { replyEncoding: null }) as unknown as Command;
}
