/**
 * The LISTEN connection: one dedicated client per transport (LISTEN needs a
 * session, so not a pooled one). A notification signals the group's waiters.
 * A connection that errors or ends is replaced; one that stays open but
 * stops answering (half-open: a dead peer with no RST) is found by a
 * `SELECT 1` every `checkMs` that must answer within `checkMs`, and
 * replaced too. After a replacement every waiter is woken, since a NOTIFY
 * sent meanwhile is lost; until then subscribers poll faster (`healthy`).
 */
import pg from "pg";
import type { TransportContext } from "../../transport/transport.js";
import type { WakeChannel } from "./wake.js";

export class NotifyListener {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private connecting: Promise<void> | undefined;
  /** True while a LISTEN connection is up and answered its last check. */
  healthy = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channelName: string,
    private readonly wake: WakeChannel,
    private readonly context: TransportContext,
    private readonly checkMs: number,
  ) {}

  start(): Promise<void> {
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    this.timer ??= setInterval(() => void this.check(), this.checkMs);
    this.timer.unref();
    return this.connecting;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.healthy = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.drop();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.config);
    client.on("error", (err) => {
      this.context.log.warn({ err }, "postgres transport: the LISTEN connection failed; replacing it (consumers poll meanwhile)");
      if (this.client === client) void this.replace();
    });
    client.on("end", () => {
      if (this.client === client && !this.stopped) void this.replace();
    });
    client.on("notification", (n) => {
      if (n.channel === this.channelName && n.payload !== undefined) this.wake.signal([n.payload]);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channelName}`);
    } catch (err) {
      this.context.log.warn({ err }, "postgres transport: opening the LISTEN connection failed; consumers poll until it opens");
      await client.end().catch((e: unknown) => this.context.log.debug({ err: e }, "postgres transport: closing a failed LISTEN connection failed"));
      return;
    }
    if (this.stopped) {
      await client.end().catch((e: unknown) => this.context.log.debug({ err: e }, "postgres transport: closing the LISTEN connection failed"));
      return;
    }
    this.client = client;
    this.healthy = true;
    // Anything published while no LISTEN was open went unheard: every waiter looks again.
    this.wake.signalAll();
  }

  private async replace(): Promise<void> {
    this.healthy = false;
    await this.drop();
    if (!this.stopped) await this.start();
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // A half-open socket may never finish a graceful end: bound it.
    await Promise.race([client.end(), new Promise((r) => setTimeout(r, 1000).unref())]).catch((err: unknown) =>
      this.context.log.debug({ err }, "postgres transport: closing the LISTEN connection failed"),
    );
  }

  private async check(): Promise<void> {
    if (this.stopped || this.connecting) return;
    const client = this.client;
    if (!client) {
      await this.start();
      return;
    }
    let timeout: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      client.query("SELECT 1").then(() => true, () => false),
      new Promise<boolean>((r) => (timeout = setTimeout(() => r(false), this.checkMs))),
    ]);
    clearTimeout(timeout);
    if (answered || this.client !== client) return;
    this.context.log.warn({}, "postgres transport: the LISTEN connection stopped answering; replacing it");
    await this.replace();
  }
}
