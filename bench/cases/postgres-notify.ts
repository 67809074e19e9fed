/**
 * What NOTIFY costs publishers: `publishers` connections, each committing
 * one message per transaction (BEGIN, `publishIn`, COMMIT), as that many
 * processes publishing one message at a time would. With `notify` each
 * commit queues a notification under PostgreSQL's database-wide notify
 * lock, so the commits serialise on it; without, they do not. One transport
 * (one LISTEN connection) for all. Tables under `prefix` in the connection's
 * schema; the caller drops that schema.
 */
import { seamMessage } from "./event.js";
import { postgresTransport } from "../../src/transports/postgres/index.js";
import { rate } from "../lib/measure.js";
import { RssSampler } from "../lib/rss-sampler.js";

export interface NotifyParams {
  /** postgres:// URL (with the schema the tables go in as search_path). */
  readonly url: string;
  readonly prefix: string;
  readonly messages: number;
  readonly publishers: number;
  readonly notify: boolean;
}

export interface NotifyResult {
  readonly perS: number;
  readonly rssMb: number;
}

const TOPIC = "order.placed";

export async function pgNotifyPublish(p: NotifyParams): Promise<NotifyResult> {
  const transport = postgresTransport({ connectionString: p.url, tablePrefix: p.prefix, notify: p.notify, poolMax: p.publishers + 1 });
  const body = Buffer.from(JSON.stringify({ orderId: "4821", totalCents: 15900 }));
  try {
    await transport.bind("billing", [TOPIC]);
    let started = 0;
    const rss = new RssSampler().start();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: p.publishers }, async () => {
      const client = await transport.pool.connect();
      try {
        while (started < p.messages) {
          started++;
          await client.query("BEGIN");
          try {
            const [r] = await transport.publishIn(client, [seamMessage(TOPIC, body)]);
            if (r) throw r;
            await client.query("COMMIT");
          } catch (err) {
            await client.query("ROLLBACK");
            throw err;
          }
        }
      } finally {
        client.release();
      }
    }));
    return { perS: rate(p.messages, performance.now() - t0), rssMb: rss.stop().peakMb };
  } finally {
    await transport.close();
  }
}
