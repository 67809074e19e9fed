/**
 * Server push: Server-Sent Events to every open page, fed by ONE poll of
 * `transport.stats()` on the server (about once a second) however many pages
 * are open, so ten operators watching an incident do not query the broker
 * ten times as often as one. The same loop reads the services' reports
 * (service-feed.ts) and pushes them as `services`, and, where the broker can
 * tell, its backlog per key with the queues. The loop runs only while a
 * page listens. Other events (redrive progress, audit records) go out on the
 * same streams.
 */
import type { ServerResponse } from "node:http";
import type { Logger } from "../observability/logger.js";
import { redact } from "../redact.js";
import type { Alert, AlertWatch } from "./alerts.js";
import type { ServiceFeed, ServicesSnapshot } from "./service-feed.js";
import { redactDeep } from "./redact-deep.js";
import type { KeyBacklog } from "../transport/abilities.js";
import type { QueueStats } from "../transport/transport.js";

export interface QueuesSnapshot {
  readonly at: string;
  /** `undefined` when the transport cannot report its queues. */
  readonly groups: readonly QueueStats[] | undefined;
  /** Why the last poll failed, redacted; `undefined` when it worked. */
  readonly error: string | undefined;
  /** Dead-letter alerts this snapshot raises (alerts.ts). */
  readonly alerts: readonly Alert[];
  /** The keys with the most messages waiting, as the broker tells (KeyBacklogInspection); `undefined` when it cannot. */
  readonly keyBacklog: readonly KeyBacklog[] | undefined;
}

/** Keys the page lists from the broker's backlog. */
export const KEY_BACKLOG_SHOWN = 20;

/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

export class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private latest: QueuesSnapshot | undefined;
  private latestServices: ServicesSnapshot | undefined;
  private polling = false;
  private keepalive: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly read: (() => Promise<QueueStats[]>) | undefined,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly alerts: AlertWatch,
    private readonly services: ServiceFeed,
    private readonly readKeys: ((limit: number) => Promise<KeyBacklog[]>) | undefined,
  ) {}

  /** Keep `res` open as an event stream until the client goes. */
  attach(res: ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
    res.write("retry: 2000\n\n");
    this.clients.add(res);
    res.on("close", () => this.detach(res));
    if (this.latest !== undefined) send(res, "queues", this.latest);
    if (this.latestServices !== undefined) send(res, "services", this.latestServices);
    if (this.timer === undefined && !this.polling) void this.poll();
    this.keepalive ??= setInterval(() => {
      for (const c of this.clients) c.write(": keepalive\n\n");
    }, KEEPALIVE_MS);
  }

  /** Send an event to every open page. */
  broadcast(event: string, data: unknown): void {
    for (const c of this.clients) send(c, event, data);
  }

  /** The last snapshot, polling once now if there is none yet (the JSON API's answer). */
  async snapshot(): Promise<QueuesSnapshot> {
    return this.latest ?? (await this.readOnce());
  }

  /** The last services snapshot, reading once now if there is none yet (the JSON API's answer). */
  async servicesSnapshot(): Promise<ServicesSnapshot> {
    return this.latestServices ?? (await this.services.snapshot());
  }

  /** End every stream and the loop (the server is closing). */
  close(): void {
    for (const c of this.clients) c.end();
    this.clients.clear();
    this.stop();
  }

  private detach(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0) this.stop();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    clearInterval(this.keepalive);
    this.keepalive = undefined;
    // With nobody watching, a snapshot would only go stale.
    this.latest = undefined;
    this.latestServices = undefined;
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    this.polling = true;
    const [snap, services] = await Promise.all([this.readOnce(), this.services.snapshot()]);
    this.polling = false;
    if (this.clients.size === 0) return;
    this.latest = snap;
    this.latestServices = services;
    this.broadcast("queues", snap);
    this.broadcast("services", services);
    this.timer = setTimeout(() => void this.poll(), this.intervalMs);
  }

  private async readOnce(): Promise<QueuesSnapshot> {
    const at = new Date().toISOString();
    if (this.read === undefined) return { at, groups: undefined, error: undefined, alerts: [], keyBacklog: undefined };
    try {
      const [groups, keyBacklog] = await Promise.all([this.read(), this.readKeys?.(KEY_BACKLOG_SHOWN)]);
      return { at, groups, error: undefined, alerts: this.alerts.evaluate(groups, Date.now()), keyBacklog };
    } catch (err) {
      const error = redact(err instanceof Error ? err.message : String(err));
      this.logger.warn({ error }, "dashboard: reading the queues failed; the page shows the error and the next poll tries again");
      return { at, groups: undefined, error, alerts: [], keyBacklog: undefined };
    }
  }
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(redactDeep(data))}\n\n`);
}
