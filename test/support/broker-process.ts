/**
 * Brokers of a test's own: a real broker process on a free loopback port with
 * its own temporary data directory, which a fault test can pause (SIGSTOP),
 * resume, SIGKILL and restart, without ever touching the machine's shared
 * services. Each broker runs in its own process group (spawned detached), so
 * a signal reaches every process it forked (postgres backends, the Erlang VM
 * behind rabbitmq-server's shell script).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BROKER_SPECS, type BrokerKind, type LaunchContext } from "./broker-specs.js";
import { freePort } from "./free-port.js";

export { probeBroker, type BrokerKind } from "./broker-specs.js";

export interface BrokerOptions {
  /** redis: `--appendonly yes --appendfsync always`, so a restart (even after SIGKILL) keeps every acknowledged write. Default false. */
  readonly appendOnly?: boolean;
  /** nats: the server's max_payload in bytes (nats-server's default is 1 MB, below missive's default body limit of 1 MiB plus headers). */
  readonly maxPayload?: number;
  /** How long start and restart wait for the broker to answer its protocol probe, ms. Default 30 000 (60 000 for rabbitmq). */
  readonly readyTimeoutMs?: number;
}

export interface BrokerProcess {
  readonly kind: BrokerKind;
  readonly port: number;
  /** A client URL: redis://, nats://, mqtt://, postgres://postgres@…/postgres, amqp://guest:guest@… */
  readonly url: string;
  readonly dataDir: string;
  /** Pid of the process group leader, undefined while not running. */
  readonly pid: number | undefined;
  /** SIGSTOP the whole group: connections stay open, nothing answers (a hung broker). Resolves once every process of the group is stopped. */
  pause(): Promise<void>;
  /** SIGCONT after `pause`; resolves once the group runs again. */
  resume(): Promise<void>;
  /** SIGKILL the whole group (a crash) and wait until it is gone. */
  kill(): Promise<void>;
  /** Stop (gracefully if running) and start again on the same port and data directory; resolves once ready. */
  restart(): Promise<void>;
  /** Kill, and remove the data directory. */
  stop(): Promise<void>;
  /** One protocol-level check (RESP PING, NATS INFO, MQTT CONNACK, pg_isready, AMQP Connection.Start). */
  probe(timeoutMs?: number): Promise<void>;
  /** The last few KiB the broker printed, for error messages. */
  output(): string;
}

/** Why `kind` cannot be started here (binary not found), or undefined when it can. */
export function missingBinary(kind: BrokerKind): string | undefined {
  return BROKER_SPECS[kind].binary() ? undefined : `${kind}: ${BROKER_SPECS[kind].binaryHint} not found`;
}

const live = new Set<Handle>();
const OUTPUT_KEEP = 16 * 1024;
const ADDRESS_IN_USE = /address already in use|eaddrinuse/i;

// The safety net when a test file dies before its afterAll: no broker outlives the worker.
process.once("exit", () => {
  for (const h of live) h.killSync();
});

class Handle implements BrokerProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<void> = Promise.resolve();
  private closed: Promise<void> = Promise.resolve();
  private log = "";

  constructor(
    readonly kind: BrokerKind,
    private ctx: LaunchContext,
    private readonly readyTimeoutMs: number,
  ) {}

  get port(): number { return this.ctx.port; }
  get dataDir(): string { return this.ctx.dir; }
  get url(): string { return BROKER_SPECS[this.kind].url(this.ctx.port); }
  get pid(): number | undefined { return this.running() ? this.child?.pid : undefined; }
  output(): string { return this.log; }

  private running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private signal(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // The group is already gone.
    }
  }

  /** Launch once; resolves when the probe answers, rejects when the process exits first. */
  async launch(): Promise<void> {
    const spec = BROKER_SPECS[this.kind];
    const { file, args, env, uid, gid } = spec.command(this.ctx);
    this.log = "";
    const child = spawn(file, args, { cwd: this.ctx.dir, env: { ...process.env, ...env }, uid, gid, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const keep = (chunk: Buffer): void => {
      this.log = (this.log + chunk.toString("utf8")).slice(-OUTPUT_KEEP);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exit = new Promise((resolve) => child.once("exit", () => resolve()));
    // After its output pipes closed, so an error message (address in use) is complete.
    this.closed = new Promise((resolve) => child.once("close", () => resolve()));
    let spawnError: Error | undefined;
    child.once("error", (err) => (spawnError = err));
    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      if (spawnError) throw new Error(`${this.kind}: could not start ${file}: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        await Promise.race([this.closed, new Promise((r) => setTimeout(r, 500))]);
        throw new BrokerExitedError(this.kind, child.exitCode ?? child.signalCode, this.log);
      }
      try {
        await spec.probe(this.ctx.port, Math.min(2000, Math.max(200, deadline - Date.now())));
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          this.killSync();
          throw new Error(`${this.kind} on port ${this.ctx.port} not ready after ${this.readyTimeoutMs} ms (${(err as Error).message}); output:\n${this.log}`, { cause: err });
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // A signal is delivered asynchronously: wait until the kernel shows the group stopped (or running),
  // so a probe right after pause() cannot meet a broker that has not stopped yet (a loaded machine).
  pause(): Promise<void> {
    this.signal("SIGSTOP");
    return this.untilGroup((state) => state === "T" || state === "t", "stopped");
  }

  resume(): Promise<void> {
    this.signal("SIGCONT");
    return this.untilGroup((state) => state !== "T" && state !== "t", "running");
  }

  private async untilGroup(ok: (state: string) => boolean, what: string): Promise<void> {
    const pgid = this.child?.pid;
    if (pgid === undefined) return;
    const deadline = Date.now() + 5000;
    while (!groupStates(pgid).every(ok)) {
      if (Date.now() > deadline) throw new Error(`${this.kind}: process group ${pgid} not ${what} after 5 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.exit;
    // The leader is gone; wait (bounded: an unreaped zombie never goes) for the rest of its group,
    // so a restart does not meet the old Erlang VM still holding its node name or port.
    const pid = this.child?.pid;
    for (const deadline = Date.now() + 3000; pid !== undefined && Date.now() < deadline; ) {
      try {
        process.kill(-pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  killSync(): void {
    this.signal("SIGKILL");
  }

  async restart(): Promise<void> {
    if (this.running()) {
      const spec = BROKER_SPECS[this.kind];
      this.signal("SIGCONT");
      this.signal(spec.stopSignal);
      const stopped = await Promise.race([this.exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), spec.stopGraceMs))]);
      if (!stopped) await this.kill();
    }
    // The same port again: a socket of the old process may linger a moment, so retry a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.launch();
      } catch (err) {
        if (!(err instanceof BrokerExitedError && ADDRESS_IN_USE.test(err.output)) || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async stop(): Promise<void> {
    const spec = BROKER_SPECS[this.kind];
    if (this.running() && spec.stopGraceMs > 0 && spec.stopSignal !== "SIGKILL") {
      // Graceful where a crash would leave something behind outside the data directory (postgres' SysV segment).
      this.signal("SIGCONT");
      this.signal(spec.stopSignal);
      await Promise.race([this.exit, new Promise((r) => setTimeout(r, spec.stopGraceMs))]);
    }
    await this.kill();
    live.delete(this);
    rmSync(this.ctx.dir, { recursive: true, force: true });
  }

  probe(timeoutMs = 2000): Promise<void> {
    return BROKER_SPECS[this.kind].probe(this.ctx.port, timeoutMs);
  }

  /** A fresh port (first start only: a restart must keep its port). */
  async movePorts(): Promise<void> {
    this.ctx = { ...this.ctx, port: await freePort(), port2: await freePort() };
  }
}

class BrokerExitedError extends Error {
  constructor(kind: BrokerKind, how: number | string | null, readonly output: string) {
    super(`${kind} exited before it was ready (${String(how)}); output:\n${output}`);
  }
}

/**
 * Start a broker of `kind` on a free loopback port with a fresh data
 * directory; resolves once it answers its protocol probe.
 */
export async function startBroker(kind: BrokerKind, options: BrokerOptions = {}): Promise<BrokerProcess> {
  const spec = BROKER_SPECS[kind];
  const missing = missingBinary(kind);
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), `missive-broker-${kind}-`));
  const ctx: LaunchContext = { dir, port: await freePort(), port2: await freePort(), appendOnly: options.appendOnly ?? false, ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }) };
  const handle = new Handle(kind, ctx, options.readyTimeoutMs ?? spec.readyTimeoutMs);
  live.add(handle);
  try {
    await spec.prepare?.(ctx);
    // Another process may take the port between the check and the bind: then try new ones.
    for (let attempt = 1; ; attempt++) {
      try {
        await handle.launch();
        return handle;
      } catch (err) {
        if (!(err instanceof BrokerExitedError && ADDRESS_IN_USE.test(err.output)) || attempt >= 3) throw err;
        await handle.movePorts();
      }
    }
  } catch (err) {
    await handle.stop();
    throw err;
  }
}

/** Stop every broker this process started and has not stopped yet (for `afterAll`). */
export async function stopAllBrokers(): Promise<void> {
  await Promise.all([...live].map((h) => h.stop()));
}

/** The state letter (R, S, T, Z, …) of every live process in process group `pgid`, from /proc. */
function groupStates(pgid: number): string[] {
  const states: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // After "pid (comm) ": state, ppid, pgrp. comm may hold spaces and parentheses: split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z") states.push(fields[0] ?? "");
  }
  return states;
}
