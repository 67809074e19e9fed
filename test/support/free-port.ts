/**
 * Loopback ports for brokers a test starts itself. Ports are drawn at random
 * below the kernel's ephemeral range (Linux: 32768+), so an outgoing client
 * connection cannot take one between the check and the broker's bind, and
 * never one of the shared services' ports (nor the Erlang distribution port
 * RabbitMQ derives from its AMQP port, +20000).
 */
import { connect, createServer } from "node:net";

const SHARED = [1883, 3306, 4222, 4369, 5432, 5672, 6379, 8222, 15672];
const RESERVED = new Set([...SHARED, ...SHARED.map((p) => p + 20_000)]);
const LOW = 20_000;
const HIGH = 32_000;
const handedOut = new Set<number>();

/** Whether nothing listens on 127.0.0.1:`port` right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port free on 127.0.0.1 now and not handed out before by this process.
 * Another process can still take it before the broker binds: callers that
 * start a broker retry on a new port when the bind fails.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (RESERVED.has(port) || handedOut.has(port)) continue;
    if (await isPortFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port found in ${LOW}-${HIGH}`);
}

/** True for the ports of the machine's shared brokers, which tests must never stop or bind. */
export function isSharedServicePort(port: number): boolean {
  return SHARED.includes(port);
}

/** Whether something accepts TCP connections on `host:port` within `timeoutMs`. */
export function isListening(port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
