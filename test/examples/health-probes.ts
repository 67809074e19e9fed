/**
 * The probe walk both health examples are held to (health-express.test.ts,
 * health-fastify.test.ts): start the example as a user would, on a free
 * port, and curl its probes while the broker is up, down (another
 * connection holds the SQLite file's write lock) and back, then after its
 * consumer failed; SIGTERM ends it cleanly.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expect } from "vitest";
import { waitFor } from "../support/wait.js";

interface Probe {
  readonly status: number;
  readonly body: { live: boolean; ready: boolean; reasons: string[]; broker: string };
}

/** A running example: its output so far, and its base URL. */
interface Running {
  readonly child: ChildProcess;
  readonly base: string;
  output(): string;
}

async function start(example: string, env: NodeJS.ProcessEnv): Promise<Running> {
  const child = spawn(process.execPath, ["--import", "tsx", `examples/${example}.ts`], { cwd: process.cwd(), env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  let base: string | undefined;
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`${example} exited with ${child.exitCode} before listening:\n${out}`);
    base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    return base !== undefined;
  }, 30_000, `${example} to listen`);
  return { child, base: base!, output: () => out };
}

async function get(base: string, path: string): Promise<Probe> {
  const res = await fetch(base + path);
  return { status: res.status, body: (await res.json()) as Probe["body"] };
}

async function postOrder(base: string, order: { orderId: string; totalCents: number; currency: string }): Promise<{ status: number; outcome: string }> {
  const res = await fetch(`${base}/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(order) });
  const body = (await res.json()) as { outcome?: string; error?: string };
  return { status: res.status, outcome: body.outcome ?? body.error ?? "" };
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

export async function walkProbes(example: "health-express" | "health-fastify"): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `missive-${example}-`));
  const path = join(dir, "missive.db");
  const app = await start(example, { MISSIVE_URL: `sqlite://${path}?busyTimeoutMs=100`, PORT: "0" });
  try {
    // Up: both probes 200.
    expect(await get(app.base, "/livez")).toMatchObject({ status: 200, body: { live: true } });
    expect(await get(app.base, "/readyz")).toMatchObject({ status: 200, body: { ready: true, broker: "up" } });
    expect(await postOrder(app.base, { orderId: "o-1", totalCents: 1200, currency: "EUR" })).toEqual({ status: 202, outcome: "confirmed" });
    await waitFor(() => app.output().includes("billed o-1"), 10_000, "o-1 billed");

    // The broker down: another connection holds the write lock, a publish is not confirmed within outageAfter.
    const blocker = new Database(path);
    blocker.exec("BEGIN EXCLUSIVE");
    try {
      expect(await postOrder(app.base, { orderId: "o-2", totalCents: 990, currency: "EUR" })).toEqual({ status: 202, outcome: "spooled" });
      const down = await get(app.base, "/readyz");
      expect(down.status).toBe(503);
      expect(down.body.reasons).toContain("the broker is down");
      // Not a reason to restart the pod: liveness holds.
      expect(await get(app.base, "/livez")).toMatchObject({ status: 200, body: { live: true } });
    } finally {
      blocker.exec("COMMIT");
      blocker.close();
    }
    // Back: the spool's flush is confirmed, readiness returns with no new request.
    await waitFor(async () => (await get(app.base, "/readyz")).status === 200, 20_000, "/readyz 200 after the outage");
    await waitFor(() => app.output().includes("billed o-2"), 10_000, "the spooled o-2 billed");

    // The consumer stops on a fault no retry fixes: liveness fails too (a restart is what heals it).
    expect(await postOrder(app.base, { orderId: "o-3", totalCents: 500, currency: "GBP" })).toEqual({ status: 202, outcome: "confirmed" });
    await waitFor(async () => (await get(app.base, "/livez")).status === 503, 10_000, "/livez 503 after the consumer failed");
    const failed = await get(app.base, "/readyz");
    expect(failed.status).toBe(503);
    expect(failed.body.reasons).toContain("consumer billing failed");

    app.child.kill("SIGTERM");
    expect(await exitOf(app.child)).toBe(0);
    expect(app.output()).toContain("closed");
  } finally {
    if (app.child.exitCode === null) app.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}
