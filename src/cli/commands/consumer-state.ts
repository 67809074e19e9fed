/**
 * Whether a group is being consumed, for `missive queues`: from the live
 * consumers the transport counts (SQLite: subscriptions whose heartbeat in
 * the file is fresh, so a consumer that stopped or whose process died drops
 * out within LIVE_MS; RabbitMQ: the consumer count the broker reports for the
 * group's queue). A consumer that stops on an error closes its subscription,
 * so it is counted out too. Ready messages and nobody consuming them is the
 * state an operator must see at a glance: `stalled`.
 */
import type { QueueStats } from "../../transport/transport.js";

export type ConsumerState = "running" | "none" | "stalled" | "unknown";

export interface ConsumerStateView {
  readonly state: ConsumerState;
  /** Why, for `stalled` and `unknown` (and `none` when a consumer's process died). */
  readonly why?: string;
}

/** `goneConsumers`: pids recorded as the group's consumers whose process is gone (sqlite-consumers.ts), already counted out. */
export function consumerState(s: QueueStats & { readonly goneConsumers?: readonly number[] }, transportName: string): ConsumerStateView {
  if (s.consumers === undefined) return { state: "unknown", why: `the ${transportName} transport does not report its consumers` };
  if (s.consumers > 0) return { state: "running" };
  const gone = s.goneConsumers ?? [];
  const died = gone.length === 0 ? "" : ` (its consumer${gone.length === 1 ? "" : "s"} ${gone.length === 1 ? "pid" : "pids"} ${gone.join(", ")} ${gone.length === 1 ? "is" : "are"} gone)`;
  if (s.ready > 0) return { state: "stalled", why: `${s.ready} ready message${s.ready === 1 ? "" : "s"} and no consumer running${died}` };
  return died === "" ? { state: "none" } : { state: "none", why: `no consumer running${died}` };
}

/** The table cell: `running`, `none`, `STALLED: 3 ready, no consumer`, `unknown: why`. */
export function stateText(view: ConsumerStateView): string {
  if (view.state === "stalled") return `STALLED: ${view.why ?? ""}`;
  return view.why === undefined ? view.state : `${view.state}: ${view.why}`;
}
