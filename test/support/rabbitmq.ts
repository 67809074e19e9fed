/**
 * RabbitMQ for tests: the shared broker at 127.0.0.1:5672, and a virtual host
 * of its own per test (created and deleted with rabbitmqctl), so tests that
 * use fixed group names never collide across runs and parallel workers.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

export const RABBITMQ_HOST = "127.0.0.1";
export const RABBITMQ_PORT = 5672;

/** Undefined when the shared broker accepts TCP connections, else why not. */
export async function rabbitmqMissing(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(RABBITMQ_PORT, RABBITMQ_HOST);
    const done = (why: string | undefined): void => {
      socket.destroy();
      resolve(why);
    };
    socket.once("connect", () => done(undefined));
    socket.once("error", (err) => done(`RabbitMQ is not reachable at ${RABBITMQ_HOST}:${RABBITMQ_PORT} (${err.message})`));
    socket.setTimeout(2000, () => done(`RabbitMQ at ${RABBITMQ_HOST}:${RABBITMQ_PORT} did not answer`));
  });
}

export interface TestVhost {
  readonly name: string;
  /** amqp:// URL of the vhost for guest. */
  readonly url: string;
  remove(): Promise<void>;
}

/** A new virtual host with full rights for guest; `remove()` deletes it with everything in it. */
export async function createVhost(label = "t"): Promise<TestVhost> {
  const name = `missive-${label}-${randomBytes(6).toString("hex")}`;
  const bin = JSON.stringify(name).slice(1, -1);
  await rabbitmqctl([
    "eval",
    `rabbit_vhost:add(<<"${bin}">>, <<"missive-test">>), rabbit_auth_backend_internal:set_permissions(<<"guest">>, <<"${bin}">>, <<".*">>, <<".*">>, <<".*">>, <<"missive-test">>).`,
  ]);
  return {
    name,
    url: `amqp://guest:guest@${RABBITMQ_HOST}:${RABBITMQ_PORT}/${encodeURIComponent(name)}`,
    remove: async () => {
      await rabbitmqctl(["delete_vhost", name]).catch(() => undefined);
    },
  };
}

async function rabbitmqctl(args: string[]): Promise<void> {
  await run("rabbitmqctl", ["-q", ...args], { timeout: 30_000 });
}
