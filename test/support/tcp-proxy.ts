/**
 * A TCP proxy between a client under test and a broker, on loopback, whose
 * behaviour a fault test switches at any moment: pass, latency, blackhole
 * (half-open), refuse; plus reset (RST) or graceful close of every current
 * connection. Bytes are forwarded chunk by chunk through a per-direction
 * queue, so latency keeps order and a mode switch applies to bytes not yet
 * delivered.
 */
import { createServer, Socket, type Server } from "node:net";

export type ProxyMode = { readonly kind: "pass" } | { readonly kind: "latency"; readonly ms: number } | { readonly kind: "blackhole" } | { readonly kind: "refuse" };

export interface ProxyStats {
  /** Connections the proxy accepted (refused ones never reach it: the port is closed). */
  accepted: number;
  /** Connections open right now. */
  open: number;
  bytesToUpstream: number;
  bytesToClient: number;
  /** Bytes swallowed by the blackhole, both directions. */
  bytesDropped: number;
}

export interface TcpProxy {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly stats: Readonly<ProxyStats>;
  mode(): ProxyMode;
  /** Forward both ways at once. */
  pass(): Promise<void>;
  /** Delay every chunk, both directions, by `ms` (order kept). */
  latency(ms: number): Promise<void>;
  /**
   * Half-open: connections stay open but every byte, both ways, is dropped. A
   * connection accepted now never gets an upstream and stays silent for good,
   * as a client stuck behind a dead path would; clients must time out.
   */
  blackhole(): Promise<void>;
  /** Stop listening: new connections get ECONNREFUSED; current ones carry on. Any other mode listens again. */
  refuse(): Promise<void>;
  /** Tear down every current connection with RST on both sides (the clients see ECONNRESET). */
  reset(): void;
  /** End every current connection gracefully (FIN on both sides). */
  closeConnections(): void;
  /** Reset everything and stop listening. */
  stop(): Promise<void>;
}

export interface TcpProxyOptions {
  readonly upstreamPort: number;
  readonly upstreamHost?: string;
}

const END = Symbol("end");
type Chunk = Buffer | typeof END;

/** One direction of one connection: chunks waiting for their due time. */
class Pipe {
  private readonly queue: Array<{ chunk: Chunk; due: number }> = [];
  private lastDue = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: () => Socket | undefined,
    private readonly target: () => Socket | undefined,
    private readonly proxy: { mode: ProxyMode; stats: ProxyStats },
    private readonly counter: "bytesToUpstream" | "bytesToClient",
  ) {}

  push(chunk: Chunk): void {
    const mode = this.proxy.mode;
    // Never earlier than the chunk before it, so a latency change cannot reorder bytes.
    const due = Math.max(Date.now() + (mode.kind === "latency" ? mode.ms : 0), this.lastDue);
    this.lastDue = due;
    this.queue.push({ chunk, due });
    this.pump();
  }

  private pump(): void {
    if (this.timer) return;
    for (;;) {
      const head = this.queue[0];
      if (!head) return;
      const wait = head.due - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      this.queue.shift();
      this.deliver(head.chunk);
    }
  }

  private deliver(chunk: Chunk): void {
    const target = this.target();
    if (this.proxy.mode.kind === "blackhole" || !target || target.destroyed) {
      if (chunk !== END) this.proxy.stats.bytesDropped += chunk.length;
      return;
    }
    if (chunk === END) {
      target.end();
      return;
    }
    this.proxy.stats[this.counter] += chunk.length;
    // Backpressure: stop reading the source until the target drains.
    if (!target.write(chunk)) {
      const source = this.source();
      source?.pause();
      target.once("drain", () => source?.resume());
    }
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

interface Connection {
  readonly client: Socket;
  upstream: Socket | undefined;
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const upstreamHost = options.upstreamHost ?? "127.0.0.1";
  const state = {
    mode: { kind: "pass" } as ProxyMode,
    stats: { accepted: 0, open: 0, bytesToUpstream: 0, bytesToClient: 0, bytesDropped: 0 } satisfies ProxyStats,
  };
  const connections = new Set<Connection>();
  let server: Server | undefined;
  let port = 0;

  const onConnection = (client: Socket): void => {
    state.stats.accepted++;
    state.stats.open++;
    const conn: Connection = { client, upstream: undefined };
    connections.add(conn);
    const toUpstream = new Pipe(() => client, () => conn.upstream, state, "bytesToUpstream");
    const toClient = new Pipe(() => conn.upstream, () => client, state, "bytesToClient");
    client.on("data", (chunk: Buffer) => toUpstream.push(chunk));
    client.on("end", () => toUpstream.push(END));
    // A reset from one side is passed on as a reset to the other, a clean close as a clean close.
    client.on("error", () => conn.upstream?.resetAndDestroy());
    client.on("close", () => {
      state.stats.open--;
      connections.delete(conn);
      toUpstream.clear();
      toClient.clear();
      conn.upstream?.destroy();
    });
    if (state.mode.kind === "blackhole") return; // stranded: never reaches the broker
    const upstream = new Socket({ allowHalfOpen: true });
    conn.upstream = upstream;
    upstream.on("data", (chunk: Buffer) => toClient.push(chunk));
    upstream.on("end", () => toClient.push(END));
    // The broker refusing or resetting looks to the client like a reset too.
    upstream.on("error", () => {
      if (!client.destroyed) client.resetAndDestroy();
    });
    upstream.connect(options.upstreamPort, upstreamHost);
  };

  const listen = async (): Promise<void> => {
    if (server) return;
    const s = createServer({ allowHalfOpen: true }, onConnection);
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen({ port, host: "127.0.0.1" }, () => {
        s.off("error", reject);
        resolve();
      });
    });
    server = s;
    const address = s.address();
    if (address && typeof address === "object") port = address.port;
  };

  const unlisten = async (): Promise<void> => {
    const s = server;
    server = undefined;
    // close() stops accepting at once; its callback would wait for current connections, which we keep.
    if (s) await new Promise<void>((resolve) => { s.close(); setImmediate(resolve); });
  };

  const setMode = async (mode: ProxyMode): Promise<void> => {
    state.mode = mode;
    if (mode.kind === "refuse") await unlisten();
    else await listen();
  };

  const each = (fn: (socket: Socket) => void): void => {
    for (const c of connections) {
      fn(c.client);
      if (c.upstream) fn(c.upstream);
    }
  };

  await listen();
  return {
    host: "127.0.0.1",
    get port() { return port; },
    stats: state.stats,
    mode: () => state.mode,
    pass: () => setMode({ kind: "pass" }),
    latency: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency must be >= 0 ms, got ${ms}`);
      return setMode({ kind: "latency", ms });
    },
    blackhole: () => setMode({ kind: "blackhole" }),
    refuse: () => setMode({ kind: "refuse" }),
    reset: () => each((s) => { if (!s.destroyed) s.resetAndDestroy(); }),
    closeConnections: () => each((s) => s.destroySoon()),
    async stop() {
      each((s) => { if (!s.destroyed) s.resetAndDestroy(); });
      await unlisten();
    },
  };
}
