/**
 * A RabbitMQ cluster of a test's own: three nodes on loopback, each with its
 * own node name (`missive-c<port>@localhost`), AMQP port, distribution port
 * and data/log directory under one temp directory, sharing one Erlang cookie
 * written there (epmd on 4369 is shared, as for every Erlang node). The
 * first node boots alone; the others join it at boot through classic-config
 * peer discovery. The shared node on 5672 is never contacted, stopped or
 * joined. Each node runs in its own process group, so `kill` (SIGKILL)
 * reaches the Erlang VM behind the rabbitmq-server script.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { BROKER_SPECS, probeBroker } from "./broker-specs.js";
import { freePort } from "./free-port.js";

const run = promisify(execFile);
const OUTPUT_KEEP = 16 * 1024;

export interface ClusterNode {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** SIGKILL the node's whole process group (a crash) and wait until the group is gone. */
  kill(): Promise<void>;
  readonly running: boolean;
  output(): string;
}

export interface RabbitmqCluster {
  readonly nodes: readonly ClusterNode[];
  /** rabbitmqctl (or rabbitmq-queues, …) against `node` of this cluster, with the cluster's cookie. */
  ctl(node: ClusterNode, args: string[], tool?: "rabbitmqctl" | "rabbitmq-queues", timeoutMs?: number): Promise<string>;
  /** SIGKILL every node still running and remove the temp directory. */
  stop(): Promise<void>;
}

const live = new Set<Node>();
// The safety net when a test file dies before its afterAll: no node outlives the worker.
process.once("exit", () => {
  for (const n of live) n.killSync();
});

class Node implements ClusterNode {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = "";

  constructor(readonly name: string, readonly port: number, private readonly distPort: number, readonly dir: string) {}

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.log;
  }

  /** Write the node's config (joining `seeds` at boot) and start it; resolves once it answers AMQP. */
  async start(root: string, seeds: readonly string[], readyTimeoutMs: number): Promise<void> {
    const server = BROKER_SPECS.rabbitmq.binary();
    if (!server) throw new Error("rabbitmq-server not found");
    mkdirSync(this.dir, { recursive: true });
    const conf = [
      "loopback_users.guest = true",
      "disk_free_limit.absolute = 10MB",
      "cluster_formation.peer_discovery_backend = classic_config",
      ...seeds.map((s, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${s}`),
      // Not the default 5-60 s random pause before joining (meant for many nodes racing to form a cluster).
      "cluster_formation.randomized_startup_delay_range.min = 0",
      "cluster_formation.randomized_startup_delay_range.max = 1",
      "",
    ];
    writeFileSync(join(this.dir, "rabbitmq.conf"), conf.join("\n"));
    writeFileSync(join(this.dir, "rabbitmq-env.conf"), ""); // not /etc/rabbitmq's, which names the shared node
    writeFileSync(join(this.dir, "enabled_plugins"), "[].\n");
    const child = spawn(server, [], {
      cwd: this.dir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        HOME: root, // the cluster's shared .erlang.cookie
        RABBITMQ_CONF_ENV_FILE: join(this.dir, "rabbitmq-env.conf"),
        RABBITMQ_CONFIG_FILE: join(this.dir, "rabbitmq.conf"),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, "enabled_plugins"),
        RABBITMQ_NODENAME: this.name,
        RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
        RABBITMQ_NODE_PORT: String(this.port),
        RABBITMQ_DIST_PORT: String(this.distPort),
        RABBITMQ_MNESIA_BASE: join(this.dir, "mnesia"),
        RABBITMQ_LOG_BASE: join(this.dir, "log"),
        ERL_EPMD_ADDRESS: "127.0.0.1",
        ERL_FLAGS: "-kernel inet_dist_use_interface {127,0,0,1}",
      },
    });
    this.child = child;
    live.add(this);
    const keep = (chunk: Buffer): void => {
      this.log = (this.log + chunk.toString("utf8")).slice(-OUTPUT_KEEP);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited before it was ready; output:\n${this.log}`);
      try {
        await probeBroker("rabbitmq", this.port, 2000);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${readyTimeoutMs} ms (${(err as Error).message}); output:\n${this.log}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  killSync(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // The group is already gone.
    }
  }

  async kill(): Promise<void> {
    this.killSync();
    await this.exited;
    // The script is gone; wait (bounded) for the rest of its group, the Erlang VM.
    const pid = this.child?.pid;
    for (const deadline = Date.now() + 3000; pid !== undefined && Date.now() < deadline; ) {
      try {
        process.kill(-pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    live.delete(this);
  }
}

/**
 * The installed RabbitMQ's version, read from its lib directory
 * (`…/lib/rabbitmq_server-3.10.8` beside `…/bin/rabbitmq-server`) without
 * starting anything, so a test name can carry it; undefined if not found.
 */
export function installedRabbitmqVersion(): string | undefined {
  const server = BROKER_SPECS.rabbitmq.binary();
  const lib = server ? join(dirname(dirname(server)), "lib") : undefined;
  if (!lib || !existsSync(lib)) return undefined;
  const dir = readdirSync(lib).find((d) => d.startsWith("rabbitmq_server-"));
  return dir?.slice("rabbitmq_server-".length);
}

/**
 * Start a three-node cluster (`size` nodes) and wait until every node sees
 * all of them running. Throws (after killing what it started) when a node
 * does not come up within `readyTimeoutMs`.
 */
export async function startRabbitmqCluster(options: { size?: number; readyTimeoutMs?: number } = {}): Promise<RabbitmqCluster> {
  const size = options.size ?? 3;
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const root = mkdtempSync(join(tmpdir(), "missive-rmq-cluster-"));
  writeFileSync(join(root, ".erlang.cookie"), randomBytes(16).toString("hex").toUpperCase(), { mode: 0o400 });
  const nodes: Node[] = [];
  for (let i = 0; i < size; i++) {
    const port = await freePort();
    nodes.push(new Node(`missive-c${port}@localhost`, port, await freePort(), join(root, `node${i}`)));
  }
  const cluster: RabbitmqCluster = {
    nodes,
    async ctl(node, args, tool = "rabbitmqctl", timeoutMs = 30_000) {
      const server = BROKER_SPECS.rabbitmq.binary();
      if (!server) throw new Error("rabbitmq-server not found");
      const { stdout } = await run(join(dirname(server), tool), ["-q", "-n", node.name, ...args], {
        env: { ...process.env, HOME: root, RABBITMQ_CONF_ENV_FILE: join(node.dir, "rabbitmq-env.conf") },
        timeout: timeoutMs,
      });
      return stdout;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    const seeds = nodes.map((n) => n.name);
    const [first, ...rest] = nodes;
    if (!first) throw new Error("a cluster needs at least one node");
    // The first node forms the cluster alone, the others join it at boot (together: boot is the slow part).
    await first.start(root, [first.name], readyTimeoutMs);
    await Promise.all(rest.map((n) => n.start(root, seeds, readyTimeoutMs)));
    await waitForMembers(cluster, first, size, readyTimeoutMs);
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** Polls `cluster_status` on `node` until it lists `size` running nodes. */
async function waitForMembers(cluster: RabbitmqCluster, node: ClusterNode, size: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let seen: string;
    try {
      const status = JSON.parse(await cluster.ctl(node, ["cluster_status", "--formatter", "json"])) as { running_nodes?: string[] };
      if ((status.running_nodes ?? []).length >= size) return;
      seen = `running: ${(status.running_nodes ?? []).join(", ")}`;
    } catch (err) {
      seen = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`the cluster did not reach ${size} running nodes within ${timeoutMs} ms (${seen})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
