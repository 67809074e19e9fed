/** Fault tests run fixtures (test/fixtures/*.ts) as real child processes, with IPC, to SIGKILL them. */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";

const running = new Set<ChildProcess>();

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
