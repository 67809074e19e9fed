/**
 * The service behind examples/health-express.ts and health-fastify.ts (not
 * run by itself): a shop that takes orders over HTTP, publishes them, and
 * bills them in a consumer, on the embedded SQLite default. Each example
 * mounts `bus.health()` on its web framework; this file is what they share.
 *
 * - `MISSIVE_URL` (default: a fresh file in a temp directory) is the queue.
 *   A short busy timeout makes a locked database fail a publish quickly.
 * - A spool keeps publishes during an outage (`outcome: "spooled"`) and
 *   flushes them when the broker is back; that flush is also what tells the
 *   bus the broker confirms again, with no new traffic needed.
 * - Billing stops on a ConfigurationError (an order in a currency with no
 *   price list): a fault no retry can fix stops the consumer, and the probes
 *   say so (liveness fails: a restart with the fixed configuration heals it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { ConfigurationError, defineMessage, missive, type Bus, type Consumer } from "missive";

export const OrderPlaced = defineMessage({
  type: "order.placed",
  schema: z.object({ orderId: z.string().min(1), totalCents: z.number().int().nonnegative(), currency: z.string().length(3) }),
  key: (order) => order.orderId,
});

const PRICE_LISTS = new Set(["EUR", "USD"]);

export interface Shop {
  readonly bus: Bus;
  readonly billing: Consumer;
  /** Close the bus (in-flight handlers get 5 s) and remove the example's temp directory. */
  close(): Promise<void>;
}

export async function openShop(): Promise<Shop> {
  const dir = mkdtempSync(join(tmpdir(), "missive-health-"));
  const url = process.env["MISSIVE_URL"] ?? `sqlite://${join(dir, "missive.db")}?busyTimeoutMs=100`;
  const bus = await missive({
    service: "shop",
    transport: url,
    // outageAfter: how long an unconfirmed publish waits before the broker counts as down (and /readyz says 503).
    publisher: { spool: join(dir, "shop.spool.db"), outageAfter: "1s", breaker: { cooldownMs: 200, maxCooldownMs: 1000 } },
  });
  bus.onStatus((event) => {
    if (event.type === "broker") console.log(`status: broker ${event.state}`);
    if (event.type === "consumer" && event.state === "failed") console.log(`status: consumer ${event.group} failed: ${event.reason ?? ""}`);
  });
  const billing = bus.consume(OrderPlaced, { group: "billing" }, (order) => {
    if (!PRICE_LISTS.has(order.currency)) throw new ConfigurationError(`no price list for ${order.currency}: add it and restart billing`);
    console.log(`billed ${order.orderId}: ${order.totalCents} ${order.currency}`);
  });
  await billing.ready;
  return {
    bus,
    billing,
    async close() {
      await bus.close({ deadline: "5s" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Stop on SIGTERM (Kubernetes) or SIGINT: stop taking requests, then close the bus (in-flight handlers finish). */
export function closeOnSignal(closeServer: () => Promise<void>, shop: Shop): void {
  const stop = async (signal: string): Promise<void> => {
    console.log(`${signal}: closing`);
    await closeServer();
    await shop.close();
    console.log("closed");
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      stop(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
    });
  }
}
