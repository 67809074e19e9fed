/**
 * The fault proxy itself, against a local echo server and against the real
 * Redis at 127.0.0.1:6379 (raw RESP over node:net): each mode does what the
 * fault tests will rely on.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { freePort, isListening } from "../../support/free-port.js";
import { startTcpProxy, type TcpProxy } from "../../support/tcp-proxy.js";
import { rawClient, staysSilent, type RawClient } from "./net-client.js";
import { shouldSkip } from "./skip.js";

const proxies: TcpProxy[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});

async function proxyTo(upstreamPort: number): Promise<TcpProxy> {
  const proxy = await startTcpProxy({ upstreamPort });
  proxies.push(proxy);
  return proxy;
}

async function client(port: number): Promise<RawClient> {
  const c = await rawClient(port);
  clients.push(c);
  return c;
}

const text = (expected: string) => (b: Buffer): boolean => b.toString("latin1").includes(expected);

describe("tcp proxy - echo server", () => {
  let echo: Server;
  let echoPort = 0;
  const serverSockets = new Set<Socket>();
  beforeAll(async () => {
    echo = createServer((s) => {
      serverSockets.add(s);
      s.on("close", () => serverSockets.delete(s));
      s.on("error", () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen({ port: 0, host: "127.0.0.1" }, r));
    echoPort = (echo.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of serverSockets) s.destroy();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  it("tcp proxy - pass forwards both ways and counts bytes", async () => {
    const proxy = await proxyTo(echoPort);
    expect(proxy.port).not.toBe(echoPort);
    const c = await client(proxy.port);
    await c.request("hello", text("hello"), 2000, "the echo");
    expect(proxy.stats).toMatchObject({ accepted: 1, open: 1, bytesToUpstream: 5, bytesToClient: 5, bytesDropped: 0 });
  });

  it("tcp proxy - latency delays each direction, keeps order, and can be lifted", async () => {
    const proxy = await proxyTo(echoPort);
    const c = await client(proxy.port);
    await proxy.latency(150);
    const started = Date.now();
    c.socket.write("a");
    c.socket.write("b");
    c.socket.write("c");
    await c.until(text("abc"), 3000, "the delayed echo");
    // There and back: two delays.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await proxy.pass();
    const quick = Date.now();
    await c.request("d", text("d"), 2000, "the echo without latency");
    expect(Date.now() - quick).toBeLessThan(150);
  });

  it("tcp proxy - blackhole keeps connections open and silent; pass serves new connections again", async () => {
    const proxy = await proxyTo(echoPort);
    const before = await client(proxy.port);
    await before.request("1", text("1"), 2000, "the first echo");
    await proxy.blackhole();
    before.socket.write("2");
    expect(await staysSilent(before, 400)).toBe(true);
    expect(before.closed()).toBe(false);
    const during = await client(proxy.port);
    expect(during.errorCode()).toBeUndefined(); // accepted, then black-holed too
    during.socket.write("3");
    expect(await staysSilent(during, 300)).toBe(true);
    expect(proxy.stats.bytesDropped).toBeGreaterThanOrEqual(2);
    await proxy.pass();
    const after = await client(proxy.port);
    await after.request("4", text("4"), 2000, "an echo on a new connection");
    // One accepted while black-holed never reaches the upstream: it stays dead.
    expect(await staysSilent(during, 200)).toBe(true);
  });

  it("tcp proxy - reset tears every connection down with ECONNRESET", async () => {
    const proxy = await proxyTo(echoPort);
    const a = await client(proxy.port);
    const b = await client(proxy.port);
    await a.request("x", text("x"), 2000, "an echo");
    await b.request("y", text("y"), 2000, "an echo");
    proxy.reset();
    await a.until(() => a.closed(), 2000, "a closed");
    await b.until(() => b.closed(), 2000, "b closed");
    expect([a.errorCode(), b.errorCode()]).toEqual(["ECONNRESET", "ECONNRESET"]);
    const c = await client(proxy.port);
    await c.request("z", text("z"), 2000, "an echo after the reset");
  });

  it("tcp proxy - closeConnections ends connections gracefully (FIN, no error)", async () => {
    const proxy = await proxyTo(echoPort);
    const a = await client(proxy.port);
    await a.request("x", text("x"), 2000, "an echo");
    proxy.closeConnections();
    await a.until(() => a.closed(), 2000, "the connection closed");
    expect(a.ended()).toBe(true);
    expect(a.errorCode()).toBeUndefined();
  });

  it("tcp proxy - an upstream that is down looks to the client like a reset", async () => {
    const downPort = await freePort(); // nothing listens there
    const proxy = await proxyTo(downPort);
    const c = await client(proxy.port);
    await c.until(() => c.closed(), 2000, "the connection torn down");
    expect(c.errorCode()).toBe("ECONNRESET");
  });

  it("tcp proxy - refuse closes the port to new connections; current ones carry on", async () => {
    const proxy = await proxyTo(echoPort);
    const open = await client(proxy.port);
    await proxy.refuse();
    const refused = await client(proxy.port);
    expect(refused.errorCode()).toBe("ECONNREFUSED");
    await open.request("still", text("still"), 2000, "the open connection's echo");
    await proxy.pass();
    const again = await client(proxy.port);
    await again.request("back", text("back"), 2000, "an echo after refuse");
  });
});

const redisMissing = (await isListening(6379)) ? undefined : "no Redis listening on 127.0.0.1:6379";

describe.skipIf(shouldSkip(redisMissing, "tcp proxy - real redis"))("tcp proxy - real redis", () => {
  const PING = "*1\r\n$4\r\nPING\r\n";

  it("tcp proxy - RESP PING through the proxy; blackhole silences it; pass on a new connection; reset gives ECONNRESET", async () => {
    const proxy = await proxyTo(6379);
    const first = await client(proxy.port);
    await first.request(PING, text("+PONG\r\n"), 2000, "PONG through the proxy");

    await proxy.blackhole();
    first.socket.write(PING);
    expect(await staysSilent(first, 500)).toBe(true);

    await proxy.pass();
    const second = await client(proxy.port);
    await second.request(PING, text("+PONG\r\n"), 2000, "PONG on a new connection");

    proxy.reset();
    await second.until(() => second.closed(), 2000, "the reset");
    expect(second.errorCode()).toBe("ECONNRESET");
  });
});
