/**
 * The publisher's PubAck inbox (src/transports/nats/pub-ack-inbox.ts) on the
 * shared nats-server at 127.0.0.1:4222: answers reach their own waiter, a
 * subject nobody listens on is a no-responders RequestError, an unanswered
 * request a TimeoutError, and what still waits when the connection closes a
 * ClosedConnectionError: the outcomes `nc.request` gave, which the publisher
 * maps to missive's errors.
 */
import { randomUUID } from "node:crypto";
import { ClosedConnectionError, headers, RequestError, TimeoutError, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { PubAckInbox } from "../../src/transports/nats/pub-ack-inbox.js";

const SERVER = "127.0.0.1:4222";
const subject = (): string => `pub-ack-inbox-nats3.${randomUUID().slice(0, 8)}`;
const opened: NatsConnection[] = [];

async function open(): Promise<NatsConnection> {
  const nc = await connect({ servers: [SERVER] });
  opened.push(nc);
  return nc;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

afterEach(async () => {
  await Promise.all(opened.splice(0).map((nc) => nc.close()));
});

describe("nats - PubAck inbox", () => {
  it("nats - each reply reaches the request it answers, whatever the order of the replies", async () => {
    const nc = await open();
    const s = subject();
    const held: Array<{ respond: (data: Uint8Array) => boolean; data: Uint8Array }> = [];
    nc.subscribe(s, {
      callback: (_err, msg) => {
        held.push({ respond: (d) => msg.respond(d), data: msg.data });
        // Answered in reverse once all three are in.
        if (held.length === 3) for (const h of held.reverse()) h.respond(text(`re:${new TextDecoder().decode(h.data)}`));
      },
    });
    await nc.flush();
    const inbox = new PubAckInbox(nc, 5_000);
    const replies = await Promise.all(["a", "b", "c"].map((x) => inbox.request(s, text(x), headers())));
    expect(replies.map((r) => r.string())).toEqual(["re:a", "re:b", "re:c"]);
  });

  it("nats - a subject nobody listens on rejects with a no-responders RequestError", async () => {
    const nc = await open();
    const inbox = new PubAckInbox(nc, 5_000);
    const err = await inbox.request(subject(), text("x"), headers()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).isNoResponders()).toBe(true);
  });

  it("nats - a request nobody answers rejects with a TimeoutError after the timeout, and a later one still works", async () => {
    const nc = await open();
    const silent = subject();
    const answering = subject();
    nc.subscribe(silent, { callback: () => undefined });
    nc.subscribe(answering, {
      callback: (_err, msg) => {
        msg.respond(text("ok"));
      },
    });
    await nc.flush();
    const inbox = new PubAckInbox(nc, 200);
    const t0 = Date.now();
    const err = await inbox.request(silent, text("x"), headers()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect((await inbox.request(answering, text("y"), headers())).string()).toBe("ok");
  });

  it("nats - what waits when the connection closes rejects with ClosedConnectionError, and so does a request after", async () => {
    const nc = await open();
    const silent = subject();
    nc.subscribe(silent, { callback: () => undefined });
    await nc.flush();
    const inbox = new PubAckInbox(nc, 10_000);
    const waiting = inbox.request(silent, text("x"), headers()).catch((e: unknown) => e);
    await nc.close();
    expect(await waiting).toBeInstanceOf(ClosedConnectionError);
    expect(await inbox.request(silent, text("y"), headers()).catch((e: unknown) => e)).toBeInstanceOf(ClosedConnectionError);
  });
});
