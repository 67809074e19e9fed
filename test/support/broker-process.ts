/**
 * Brokers of a test's own: a real broker process on a free loopback port with
 * its own temporary data directory, which a fault test can pause (SIGSTOP),
 * resume, SIGKILL and restart, without ever touching the machine's shared
 * services. Each broker runs in its own process group (spawned detached), so
 * a signal reaches every process it forked (postgres backends, the Erlang VM
 * behind rabbitmq-server's shell script).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";

export interface BrokerOptions {
  /** redis: `--appendonly yes --appendfsync always`, so a restart (even after SIGKILL) keeps every acknowledged write. Default false. */
  readonly appendOnly?: boolean;
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
  /** SIGSTOP the whole group: connections stay open, nothing answers (a hung broker). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
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

  pause(): void { this.signal("SIGSTOP"); }
  resume(): void { this.signal("SIGCONT"); }

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
  const ctx: LaunchContext = { dir, port: await freePort(), port2: await freePort(), appendOnly: options.appendOnly ?? false };
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

// ---------------------------------------------------------------------------
// What each broker needs: where its binary is, how it is launched on a given
// port and data directory, and the smallest protocol exchange that proves it
// answers (a TCP connect alone is not enough: a paused process still accepts
// into its backlog).
// ---------------------------------------------------------------------------

export type BrokerKind = "redis" | "nats" | "mosquitto" | "postgres" | "rabbitmq";

interface LaunchContext {
  readonly dir: string;
  readonly port: number;
  /** A second port, for brokers that need one (RabbitMQ's Erlang distribution). */
  readonly port2: number;
  readonly appendOnly: boolean;
}

interface Launch {
  readonly file: string;
  readonly args: string[];
  readonly env?: Record<string, string>;
  readonly uid?: number;
  readonly gid?: number;
}

interface BrokerSpec {
  readonly binaryHint: string;
  binary(): string | undefined;
  /** Once per data directory (initdb). */
  prepare?(ctx: LaunchContext): Promise<void>;
  /** Every start; may (re)write config files in the data directory. */
  command(ctx: LaunchContext): Launch;
  url(port: number): string;
  probe(port: number, timeoutMs: number): Promise<void>;
  readonly readyTimeoutMs: number;
  /** The signal for a graceful stop, and how long it may take before SIGKILL. */
  readonly stopSignal: NodeJS.Signals;
  readonly stopGraceMs: number;
}

const run = promisify(execFile);

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first of `candidates` that exists, else `name` on PATH (plus the sbin directories a user's PATH often lacks). */
function findBinary(name: string, candidates: string[] = []): string | undefined {
  const dirs = [...(process.env["PATH"] ?? "").split(":"), "/usr/sbin", "/usr/local/sbin", "/sbin"].filter(Boolean);
  return [...candidates, ...dirs.map((d) => join(d, name))].find(executable);
}

/** PostgreSQL's server binaries: the newest /usr/lib/postgresql/<version>/bin (Debian), else `postgres` on PATH. */
const postgresBin = (() => {
  let cached: string | null | undefined;
  return (): string | undefined => {
    if (cached === undefined) {
      const root = "/usr/lib/postgresql";
      const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
      const debian = versions.map((v) => join(root, v, "bin")).find((d) => executable(join(d, "postgres")) && executable(join(d, "initdb")));
      const onPath = findBinary("postgres");
      cached = debian ?? (onPath ? dirname(onPath) : null);
    }
    return cached ?? undefined;
  };
})();

/** PostgreSQL refuses to run as root: when we are root, run it as the `postgres` user. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) throw new Error("postgres refuses to run as root and there is no `postgres` user to run it as");
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Connect, send `hello`, and resolve once what came back satisfies `done`;
 * reject on timeout, error or close.
 */
function exchange(port: number, hello: Buffer | undefined, done: (reply: Buffer) => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let reply = Buffer.alloc(0);
    const socket = connect({ port, host: "127.0.0.1" });
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.once("connect", () => hello && socket.write(hello));
    socket.on("data", (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      if (done(reply)) finish();
    });
    socket.once("error", (err) => finish(new Error(`${what}: ${err.message}`)));
    socket.once("close", () => finish(new Error(`${what}: connection closed after ${JSON.stringify(reply.toString("latin1"))}`)));
  });
}

// MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id "missive-probe".
const MQTT_CONNECT = Buffer.from([0x10, 25, 0, 4, ...Buffer.from("MQTT"), 4, 0x02, 0, 60, 0, 13, ...Buffer.from("missive-probe")]);
// AMQP 0-9-1 protocol header; the broker answers with Connection.Start (class 10, method 10) on channel 0.
const AMQP_HEADER = Buffer.from([...Buffer.from("AMQP"), 0, 0, 9, 1]);

const PROBES: Record<BrokerKind, (port: number, timeoutMs: number) => Promise<void>> = {
  redis: (port, ms) => exchange(port, Buffer.from("*1\r\n$4\r\nPING\r\n"), (r) => r.includes("+PONG\r\n"), ms, "redis PING"),
  nats: (port, ms) => exchange(port, undefined, (r) => r.subarray(0, 5).toString() === "INFO " && r.includes("\r\n"), ms, "nats INFO"),
  mosquitto: (port, ms) => exchange(port, MQTT_CONNECT, (r) => r.length >= 4 && r[0] === 0x20 && r[3] === 0, ms, "mqtt CONNACK"),
  rabbitmq: (port, ms) => exchange(port, AMQP_HEADER, (r) => r.length >= 11 && r[0] === 1 && r.readUInt16BE(7) === 10 && r.readUInt16BE(9) === 10, ms, "amqp Connection.Start"),
  postgres: async (port, ms) => {
    const bin = postgresBin();
    const isready = bin && executable(join(bin, "pg_isready")) ? join(bin, "pg_isready") : "pg_isready";
    try {
      await run(isready, ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-t", String(Math.max(1, Math.ceil(ms / 1000)))], { timeout: ms });
    } catch (err) {
      throw new Error(`pg_isready: ${(err as { stdout?: string }).stdout?.trim() || (err as Error).message}`, { cause: err });
    }
  },
};

/** One protocol-level check of a broker of `kind` on 127.0.0.1:`port`. */
export function probeBroker(kind: BrokerKind, port: number, timeoutMs = 2000): Promise<void> {
  return PROBES[kind](port, timeoutMs);
}

const BROKER_SPECS: Record<BrokerKind, BrokerSpec> = {
  redis: {
    binaryHint: "redis-server",
    binary: () => findBinary("redis-server", ["/usr/bin/redis-server"]),
    command: (ctx) => ({
      file: findBinary("redis-server", ["/usr/bin/redis-server"])!,
      args: ["--port", String(ctx.port), "--bind", "127.0.0.1", "--dir", ctx.dir, "--save", "", "--daemonize", "no", "--logfile", "",
        ...(ctx.appendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"])],
    }),
    url: (port) => `redis://127.0.0.1:${port}`,
    probe: PROBES.redis,
    readyTimeoutMs: 30_000,
    stopSignal: "SIGTERM",
    stopGraceMs: 5_000,
  },
  nats: {
    binaryHint: "nats-server",
    binary: () => findBinary("nats-server", ["/usr/sbin/nats-server"]),
    command: (ctx) => ({
      file: findBinary("nats-server", ["/usr/sbin/nats-server"])!,
      args: ["-a", "127.0.0.1", "-p", String(ctx.port), "-js", "-sd", join(ctx.dir, "jetstream")],
    }),
    url: (port) => `nats://127.0.0.1:${port}`,
    probe: PROBES.nats,
    readyTimeoutMs: 30_000,
    stopSignal: "SIGTERM",
    stopGraceMs: 5_000,
  },
  mosquitto: {
    binaryHint: "mosquitto",
    binary: () => findBinary("mosquitto", ["/usr/sbin/mosquitto"]),
    command: (ctx) => {
      const conf = join(ctx.dir, "mosquitto.conf");
      // As root, mosquitto would drop to the `mosquitto` user, who cannot write our data directory.
      const user = process.getuid?.() === 0 ? ["user root"] : [];
      writeFileSync(conf, [`listener ${ctx.port} 127.0.0.1`, "allow_anonymous true", "persistence true", `persistence_location ${ctx.dir}/`, "log_dest stderr", ...user, ""].join("\n"));
      return { file: findBinary("mosquitto", ["/usr/sbin/mosquitto"])!, args: ["-c", conf] };
    },
    url: (port) => `mqtt://127.0.0.1:${port}`,
    probe: PROBES.mosquitto,
    readyTimeoutMs: 30_000,
    stopSignal: "SIGTERM",
    stopGraceMs: 5_000,
  },
  postgres: {
    binaryHint: "postgres and initdb (/usr/lib/postgresql/<version>/bin)",
    binary: () => postgresBin(),
    async prepare(ctx) {
      const user = postgresUser();
      if (user) chownSync(ctx.dir, user.uid, user.gid);
      // -N: no fsync during initdb (a throw-away cluster); the server itself keeps fsync on.
      await run(join(postgresBin()!, "initdb"), ["-D", join(ctx.dir, "data"), "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8", "--locale=C"], { cwd: ctx.dir, timeout: 60_000, ...user });
    },
    command: (ctx) => ({
      file: join(postgresBin()!, "postgres"),
      args: ["-D", join(ctx.dir, "data"), "-p", String(ctx.port), "-k", ctx.dir, "-c", "listen_addresses=127.0.0.1", "-c", "shared_buffers=32MB"],
      ...postgresUser(),
    }),
    url: (port) => `postgres://postgres@127.0.0.1:${port}/postgres`,
    probe: PROBES.postgres,
    readyTimeoutMs: 30_000,
    // SIGINT is the fast shutdown; a SIGKILLed cluster leaves its SysV sentinel segment behind.
    stopSignal: "SIGINT",
    stopGraceMs: 10_000,
  },
  rabbitmq: {
    binaryHint: "rabbitmq-server",
    // The real script, not Debian's /usr/sbin wrapper (which, as root, re-runs it as the `rabbitmq` user in /var/lib/rabbitmq).
    binary: () => findBinary("rabbitmq-server", ["/usr/lib/rabbitmq/bin/rabbitmq-server"]),
    command: (ctx) => {
      writeFileSync(join(ctx.dir, "rabbitmq-env.conf"), ""); // instead of /etc/rabbitmq/rabbitmq-env.conf (the shared node's name)
      writeFileSync(join(ctx.dir, "rabbitmq.conf"), "loopback_users.guest = true\ndisk_free_limit.absolute = 10MB\n");
      writeFileSync(join(ctx.dir, "enabled_plugins"), "[].\n"); // no management plugin
      return {
        file: findBinary("rabbitmq-server", ["/usr/lib/rabbitmq/bin/rabbitmq-server"])!,
        args: [],
        env: {
          HOME: ctx.dir, // Erlang writes its cookie here
          RABBITMQ_CONF_ENV_FILE: join(ctx.dir, "rabbitmq-env.conf"),
          RABBITMQ_CONFIG_FILE: join(ctx.dir, "rabbitmq.conf"),
          RABBITMQ_ENABLED_PLUGINS_FILE: join(ctx.dir, "enabled_plugins"),
          RABBITMQ_NODENAME: `missive-${ctx.port}@localhost`,
          RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
          RABBITMQ_NODE_PORT: String(ctx.port),
          RABBITMQ_DIST_PORT: String(ctx.port2),
          RABBITMQ_MNESIA_BASE: join(ctx.dir, "mnesia"),
          RABBITMQ_LOG_BASE: join(ctx.dir, "log"),
          ERL_EPMD_ADDRESS: "127.0.0.1",
          ERL_FLAGS: "-kernel inet_dist_use_interface {127,0,0,1}",
        },
      };
    },
    url: (port) => `amqp://guest:guest@127.0.0.1:${port}`,
    probe: PROBES.rabbitmq,
    readyTimeoutMs: 60_000,
    // Nothing outside the data directory to clean up; a graceful stop only costs seconds.
    stopSignal: "SIGTERM",
    stopGraceMs: 0,
  },
};
