/** A raw loopback TCP client for the harness tests: collects what it receives and how it ended. */
import { connect, type Socket } from "node:net";
import { waitFor } from "../../support/wait.js";

export interface RawClient {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** The error the socket ended with (`ECONNRESET`, `ECONNREFUSED`, …), if any. */
  errorCode(): string | undefined;
  ended(): boolean;
  closed(): boolean;
  /** Wait until `predicate(received())` holds, or fail after `timeoutMs`. */
  until(predicate: (data: Buffer) => boolean, timeoutMs: number, what: string): Promise<Buffer>;
  /** Write and wait for `predicate`, counting only what arrives after the write. */
  request(bytes: string | Buffer, predicate: (reply: Buffer) => boolean, timeoutMs: number, what: string): Promise<Buffer>;
}

/** Connects (resolves once connected, or once the connection failed: see `errorCode()`). */
export async function rawClient(port: number): Promise<RawClient> {
  const chunks: Buffer[] = [];
  let error: string | undefined;
  let ended = false;
  let closed = false;
  const socket = connect({ port, host: "127.0.0.1" });
  socket.on("data", (c: Buffer) => chunks.push(c));
  socket.on("end", () => (ended = true));
  socket.on("close", () => (closed = true));
  await new Promise<void>((resolve) => {
    socket.once("connect", resolve);
    socket.on("error", (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
      resolve();
    });
  });
  const received = (): Buffer => Buffer.concat(chunks);
  const until = async (predicate: (data: Buffer) => boolean, timeoutMs: number, what: string): Promise<Buffer> => {
    await waitFor(() => predicate(received()), timeoutMs, what);
    return received();
  };
  return {
    socket,
    received,
    errorCode: () => error,
    ended: () => ended,
    closed: () => closed,
    until,
    async request(bytes, predicate, timeoutMs, what) {
      const from = received().length;
      socket.write(bytes);
      const all = await until((d) => predicate(d.subarray(from)), timeoutMs, what);
      return all.subarray(from);
    },
  };
}

/** True when `received()` gains nothing new for `ms`. */
export async function staysSilent(client: RawClient, ms: number): Promise<boolean> {
  const before = client.received().length;
  await new Promise((r) => setTimeout(r, ms));
  return client.received().length === before;
}
