/**
 * Fault tests run fixtures (test/fixtures/*.ts) as real child processes, with
 * IPC, so they can SIGKILL them at a chosen moment: on the very IPC message
 * that says the moment has come (a handler started, a number of confirms).
 */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";

const running = new Set<ChildProcess>();

// A test file that dies before its afterEach must not leave fixtures behind.
process.once("exit", killFixtures);

export function forkFixture(name: string, args: string[]): ChildProcess {
  const child = fork(join(process.cwd(), "test", "fixtures", `${name}.ts`), args, { execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "inherit", "ipc"] });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

/** SIGKILL every fixture process still alive (afterEach). */
export function killFixtures(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  running.clear();
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Resolves with the first IPC message for which `match` holds; rejects when
 * the child exits first or `timeoutMs` passes.
 */
export function nextMessage<T>(child: ChildProcess, match: (message: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const onMessage = (m: T): void => {
      if (!match(m)) return;
      done();
      resolve(m);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      done();
      reject(new Error(`fixture exited (${code ?? signal}) before ${what}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/**
 * SIGKILL `child` inside the handler of the first IPC message for which
 * `match` holds (no event-loop turn in between), and resolve with that
 * message once the child is gone.
 */
export async function killOnMessage<T>(child: ChildProcess, match: (message: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const message = await nextMessage(child, (m: T) => {
    if (!match(m)) return false;
    child.kill("SIGKILL");
    return true;
  }, timeoutMs, what);
  await exited(child);
  return message;
}
