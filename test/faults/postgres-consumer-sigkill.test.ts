/**
 * A consumer process SIGKILLed while it holds a message: its claim stays
 * its own until the lease it last renewed runs out, and no longer; then
 * another consumer gets the message, attempt 2. The lease renewal of a live
 * holder runs every leaseMs/3, so after the kill the message comes back
 * between 2/3 × leaseMs and leaseMs later (plus a poll).
 */
import { afterEach, describe, expect, it } from "vitest";
import { postgresTransport, type PostgresTransport } from "../../src/transports/postgres/index.js";
import { forkFixture, killFixtures, nextMessage } from "../support/fixture-process.js";
import { dropPrefix, PG_URL, pgPrefix } from "../support/postgres.js";

const LEASE_MS = 3_000;
const opened: PostgresTransport[] = [];
let prefix: string | undefined;

afterEach(async () => {
  killFixtures();
  for (const t of opened.splice(0)) await t.close();
  if (prefix !== undefined) await dropPrefix(prefix);
  prefix = undefined;
});

describe("faults - postgres consumer SIGKILL", () => {
  it("faults - postgres: a SIGKILLed holder's message comes back when its lease ends, not before, attempt 2", async () => {
    prefix = pgPrefix();
    const survivor = postgresTransport({ connectionString: PG_URL, tablePrefix: prefix, pollMaxMs: 50 });
    opened.push(survivor);
    await survivor.bind("g", ["t"]);
    expect(await survivor.publish([{ topic: "t", id: "m1", key: "k", wire: { headers: { "ce-id": "m1" }, body: Buffer.from("m1") } }])).toEqual([undefined]);

    const holder = forkFixture("postgres-holder", [PG_URL, prefix, "g", "t", String(LEASE_MS)]);
    const held = await nextMessage<{ held: string; attempt: number }>(holder, (m) => m.held !== undefined, 20_000, "the holder takes the message");
    expect(held).toEqual({ held: "m1", attempt: 1 });
    // Let it renew at least once, so the lease outlives the first claim's.
    await new Promise((r) => setTimeout(r, LEASE_MS / 2));
    holder.kill("SIGKILL");
    const killedAt = Date.now();

    const sub = await survivor.subscribe({ group: "g", topics: ["t"], prefetch: 1, ordered: true, leaseMs: LEASE_MS });
    const got = await sub.receive(1, LEASE_MS * 3);
    const backAfter = Date.now() - killedAt;
    expect(got.map((d) => [d.wire.headers["ce-id"], d.attempt])).toEqual([["m1", 2]]);
    expect(backAfter).toBeGreaterThanOrEqual((LEASE_MS * 2) / 3 - 100);
    expect(backAfter).toBeLessThan(LEASE_MS + 1_000);
    await got[0]!.ack();
  }, 30_000);
});
