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
  /** Why, for `stalled` and `unknown`. */
  readonly why?: string;
}

export function consumerState(s: QueueStats, transportName: string): ConsumerStateView {
  if (s.consumers === undefined) return { state: "unknown", why: `the ${transportName} transport does not report its consumers` };
  if (s.consumers > 0) return { state: "running" };
  if (s.ready > 0) return { state: "stalled", why: `${s.ready} ready message${s.ready === 1 ? "" : "s"} and no consumer running` };
  return { state: "none" };
}

/** The table cell: `running`, `none`, `STALLED: 3 ready, no consumer`, `unknown: why`. */
export function stateText(view: ConsumerStateView): string {
  if (view.state === "stalled") return `STALLED: ${view.why ?? ""}`;
  if (view.state === "unknown") return `unknown: ${view.why ?? ""}`;
  return view.state;
}
