/** Request-reply and what a handler sends: causation, correlation, the edge cases of replies. */
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ClosedError, ErrorCodes, defineMessage, missive, type Bus, type Envelope } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { OrderPlaced, Ping, Pong } from "../conformance/contracts.js";
import { sleep, waitFor } from "../support/wait.js";
import { deadLettersOf } from "../support/abilities.js";

const Charged = defineMessage({ type: "rr.charged", schema: z.object({ orderId: z.string() }) });

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close({ deadline: 300 }).catch(() => undefined)));
});

async function pair(): Promise<{ server: Bus; client: Bus }> {
  const broker = createMemoryBroker();
  const server = await missive({ service: "server", transport: broker.transport() });
  const client = await missive({ service: "client", transport: broker.transport() });
  buses.push(server, client);
  return { server, client };
}

describe("request-reply and ctx.publish", () => {
  it("ctx.publish - carries causation (the handled id) and correlation (carried over)", async () => {
    const { server, client } = await pair();
    const seen: Envelope[] = [];
    await client.consume(Charged, { group: "audit" }, (_d, ctx) => void seen.push(ctx.message)).ready;
    await server.consume(OrderPlaced, { group: "billing" }, async (d, ctx) => {
      await ctx.publish(Charged, { orderId: d.orderId });
    }).ready;
    const r = await client.publish(OrderPlaced, { orderId: "o-1", seq: 1, totalCents: 1 }, { correlationId: "flow-7" });
    await waitFor(() => seen.length === 1, 10_000, "the caused message");
    expect(seen[0]).toMatchObject({ causationid: r.id, correlationid: "flow-7", source: "server", data: { orderId: "o-1" } });
  });

  it("ctx.reply - on a message that asked for no reply is ignored, not an error", async () => {
    const { server, client } = await pair();
    let handled = 0;
    await server.consume(Ping, { group: "g" }, async (d, ctx) => {
      await ctx.reply(Pong, { n: d.n });
      handled++;
    }).ready;
    await client.publish(Ping, { n: 1 });
    await waitFor(() => handled === 1, 10_000, "the handler");
    expect(await deadLettersOf(server.transport).count()).toBe(0);
  });

  it("ctx.reply - a requester that is gone is logged, the request still counts as handled", async () => {
    const { server, client } = await pair();
    let handled = 0;
    await server.consume(Ping, { group: "slow-pinger" }, async (d, ctx) => {
      await sleep(300);
      await ctx.reply(Pong, { n: d.n });
      handled++;
    }).ready;
    await expect(client.request(Ping, { n: 1 }, { reply: Pong, timeout: "50ms" })).rejects.toMatchObject({ code: ErrorCodes.REQUEST_TIMEOUT });
    await client.close();
    await waitFor(() => handled === 1, 10_000, "the late handler");
    expect(await deadLettersOf(server.transport).count()).toBe(0);
  });

  it("request - a reply of the wrong type or shape rejects with a typed error", async () => {
    const { server, client } = await pair();
    const Other = defineMessage({ type: "rr.other", schema: z.object({ n: z.number() }) });
    const Loose = defineMessage({ type: Pong.type, schema: z.object({ n: z.string() }) });
    await server.consume(Ping, { group: "odd" }, async (d, ctx) => {
      if (d.n === 1) await ctx.reply(Other, { n: 1 });
      else await ctx.reply(Loose, { n: "not a number" });
    }).ready;
    await expect(client.request(Ping, { n: 1 }, { reply: Pong, timeout: "5s" })).rejects.toMatchObject({ code: ErrorCodes.UNKNOWN_TYPE });
    await expect(client.request(Ping, { n: 2 }, { reply: Pong, timeout: "5s" })).rejects.toMatchObject({ code: ErrorCodes.SCHEMA });
  });

  it("request - pending requests reject with ClosedError when the bus closes", async () => {
    const { client } = await pair();
    await client.declare(Ping, "nobody");
    const pending = client.request(Ping, { n: 1 }, { reply: Pong, timeout: "30s" }).catch((e: unknown) => e);
    await sleep(50);
    await client.close();
    expect(await pending).toBeInstanceOf(ClosedError);
    await expect(client.request(Ping, { n: 1 }, { reply: Pong })).rejects.toBeInstanceOf(ClosedError);
  });
});
