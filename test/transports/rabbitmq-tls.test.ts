/**
 * amqps:// with a client certificate: a TLS terminator of the test's own (Node's tls server,
 * requiring a client certificate signed by the test's CA) in front of the shared broker.
 * Proves the transport's `tls` options reach the TLS handshake, and that a missing or
 * untrusted certificate fails with a typed error and no password in it.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as netConnect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError, ConnectionError } from "../../src/errors.js";
import { rabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { RABBITMQ_HOST, RABBITMQ_PORT } from "../support/rabbitmq.js";
import { message, rabbitmqFixture, receiveAtLeast, subOptions } from "./rabbitmq-support.js";

interface Pki {
  readonly ca: Buffer;
  readonly serverCert: Buffer;
  readonly serverKey: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makePki(dir: string): Pki {
  const ssl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=missive-test-ca");
  for (const [name, cn] of [["server", "127.0.0.1"], ["client", "missive-client"]] as const) {
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    ssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "1",
      ...(name === "server" ? ["-extfile", writeExt(dir)] : []));
  }
  const read = (f: string): Buffer => readFileSync(join(dir, f));
  return { ca: read("ca.pem"), serverCert: read("server.pem"), serverKey: read("server.key"), clientCert: read("client.pem"), clientKey: read("client.key") };
}

function writeExt(dir: string): string {
  const path = join(dir, "server.ext");
  execFileSync("sh", ["-c", `printf 'subjectAltName=IP:127.0.0.1\\n' > ${JSON.stringify(path)}`]);
  return path;
}

describe("rabbitmq over TLS", () => {
  const fx = rabbitmqFixture();
  let dir = "";
  let pki: Pki;
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "missive-tls-"));
    pki = makePki(dir);
    server = createServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (socket) => {
      const upstream = netConnect(RABBITMQ_PORT, RABBITMQ_HOST);
      socket.pipe(upstream).pipe(socket);
      const close = (): void => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on("error", close);
      upstream.on("error", close);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsUrl = (): string => fx.vhost().url.replace("amqp://", "amqps://").replace(`:${RABBITMQ_PORT}/`, `:${port}/`);

  it("rabbitmq - amqps:// with a client certificate: the CA, certificate and key pass through to the handshake", async ({ skip }) => {
    if (fx.skip()) return skip();
    const t = fx.open({ url: tlsUrl(), tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
    const sub = await t.subscribe(subOptions("secure", ["s"], { ordered: false }));
    expect(await t.publish([message("s", "over-tls")])).toEqual([undefined]);
    const [d] = await receiveAtLeast(sub, 1, 5000);
    expect(Buffer.from(d!.wire.body).toString()).toBe("over-tls");
    await d!.ack();
  });

  it("rabbitmq - an untrusted server is a ConfigurationError; a missing client certificate fails; no password in either", async ({ skip }) => {
    if (fx.skip()) return skip();
    const untrusted = rabbitmqTransport({ url: tlsUrl(), tls: { cert: pki.clientCert, key: pki.clientKey } });
    const e1 = await untrusted.connect().catch((e: unknown) => e);
    await untrusted.close();
    expect(e1).toBeInstanceOf(ConfigurationError);
    expect((e1 as Error).message).not.toContain("guest:guest");
    const anonymous = rabbitmqTransport({ url: tlsUrl(), tls: { ca: pki.ca } });
    const e2 = await anonymous.connect().catch((e: unknown) => e);
    await anonymous.close();
    expect(e2 instanceof ConnectionError || e2 instanceof ConfigurationError).toBe(true);
    expect((e2 as Error).message).not.toContain("guest:guest");
  });
});
