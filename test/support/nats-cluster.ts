/**
 * A 3-node nats-server cluster of a test's own on loopback: each node its
 * own client and cluster port, its own JetStream store directory, routes to
 * the other two. Nodes are SIGKILLed and started again on the same store;
 * the shared server at 4222 is never touched.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort } from "./free-port.js";

export interface NatsClusterNode {
  readonly name: string;
  readonly port: number;
  kill(): Promise<void>;
  start(): void;
}

export interface NatsCluster {
  readonly nodes: readonly NatsClusterNode[];
  /** `host:port` of every node, for a client's server list. */
  readonly servers: readonly string[];
  /** Resolves once JetStream answers through every node (a meta leader is elected). */
  ready(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
// The safety net when a test file dies before its afterAll: no node outlives the worker.
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), "missive-nats-cluster-"));
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), cluster: await freePort() })));
  const nodes = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const routes = ports.filter((_, j) => j !== i).map((o) => `nats-route://127.0.0.1:${o.cluster}`);
    const conf = join(dir, `${name}.conf`);
    writeFileSync(conf, [
      `server_name: ${name}`,
      `listen: 127.0.0.1:${p.client}`,
      `jetstream { store_dir: "${join(dir, name)}" }`,
      `cluster { name: missive-test, listen: 127.0.0.1:${p.cluster}, routes: [${routes.map((r) => `"${r}"`).join(", ")}] }`,
    ].join("\n"));
    let child: ChildProcess | undefined;
    const node: NatsClusterNode = {
      name,
      port: p.client,
      start() {
        const c = spawn("nats-server", ["-c", conf], { stdio: "ignore", detached: true });
        live.add(c);
        c.once("exit", () => live.delete(c));
        child = c;
      },
      async kill() {
        const c = child;
        child = undefined;
        if (c === undefined || c.exitCode !== null) return;
        const exited = new Promise<void>((r) => c.once("exit", () => r()));
        c.kill("SIGKILL");
        await exited;
      },
    };
    return node;
  });
  for (const n of nodes) n.start();
  const servers = nodes.map((n) => `127.0.0.1:${n.port}`);
  return {
    nodes,
    servers,
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          const nc = await connect({ servers: [...servers], timeout: 1_000 });
          try {
            await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo();
            return;
          } finally {
            await nc.close();
          }
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`nats cluster: JetStream not ready within ${timeoutMs} ms`, { cause: err });
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
