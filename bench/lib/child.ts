/**
 * Every measurement runs in a child process of its own, so its RSS and its
 * garbage are its own: missive, the raw client and the peer never share a heap.
 * The child (bench/child.ts) answers with one IPC message.
 */
import { fork } from "node:child_process";
import { join } from "node:path";
import { HOOK, missiveCode } from "./compiled-missive.js";

const CHILD = join(import.meta.dirname, "..", "child.ts");
const TSX = import.meta.resolve("tsx");
/** Decided once per run (compiled-missive.ts): the children load missive from dist/ when it is fresh. */
const EXEC_ARGV = ["--import", TSX, ...(missiveCode().code === "dist" ? ["--import", HOOK] : []), "--expose-gc"];

export function runChild<T>(name: string, params: object, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(CHILD, [name, JSON.stringify(params)], { execArgv: EXEC_ARGV, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let answered = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`bench case ${name} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("message", (msg: { ok: boolean; value?: T; error?: string }) => {
      answered = true;
      clearTimeout(timer);
      if (msg.ok) resolve(msg.value as T);
      else reject(new Error(`bench case ${name} failed: ${msg.error}`));
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (!answered) reject(new Error(`bench case ${name} exited (${signal ?? code}) without a result`));
    });
  });
}
