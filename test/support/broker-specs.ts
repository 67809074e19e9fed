/**
 * What each broker needs: where its binary is, how it is launched on a given
 * port and data directory, and the smallest protocol exchange that proves it
 * answers (a TCP connect alone is not enough: a paused process still accepts
 * into its backlog). Used by broker-process.ts.
 */
import { execFile } from "node:child_process";
import { accessSync, chownSync, constants, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

export type BrokerKind = "redis" | "nats" | "mosquitto" | "postgres" | "rabbitmq";

export interface LaunchContext {
  readonly dir: string;
  readonly port: number;
  /** A second port, for brokers that need one (RabbitMQ's Erlang distribution). */
  readonly port2: number;
  readonly appendOnly: boolean;
  /** nats: max_payload, bytes (written to a config file; there is no flag for it). */
  readonly maxPayload?: number;
}

interface Launch {
  readonly file: string;
  readonly args: string[];
  readonly env?: Record<string, string>;
  readonly uid?: number;
  readonly gid?: number;
}

export interface BrokerSpec {
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

export const BROKER_SPECS: Record<BrokerKind, BrokerSpec> = {
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
      args: ["-a", "127.0.0.1", "-p", String(ctx.port), "-js", "-sd", join(ctx.dir, "jetstream"), ...natsConfig(ctx)],
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

/** `-c <file>` with what nats-server takes only from a config file (max_payload), or nothing. */
function natsConfig(ctx: LaunchContext): string[] {
  if (ctx.maxPayload === undefined) return [];
  const file = join(ctx.dir, "nats.conf");
  writeFileSync(file, `max_payload: ${ctx.maxPayload}\n`);
  return ["-c", file];
}
