/**
 * What a confirm means on this virtual host, from the queues as declared on
 * the broker, not from this process's `queueType` option (a queue declared
 * classic by someone else stays classic whatever a service is configured
 * with). AMQP cannot list queues, so the queues read are those of the groups
 * recorded in `missive.catalog` (catalog.ts): each group's queue, its
 * dead-letter queue and its partition queues. Policies (queue length, TTL)
 * are invisible over AMQP and not reported. What each process chose for
 * itself (its negotiated heartbeat, the queue type it declares) comes from
 * the records live processes append (process-beacon.ts), never from the
 * options of the process asking.
 */
import type { DurabilityReport } from "../../transport/transport.js";
import type { CatalogGroup } from "./catalog.js";
import { deadLetterQueueOf } from "./names.js";
import { partitionQueueOf } from "./partition-names.js";
import type { ProcessRecord } from "./process-beacon.js";
import type { DeclaredQueue, QueueProbe } from "./queue-probe.js";

const QUORUM = "a publish resolves after the broker confirmed it: persistent, and written to a majority of the quorum queue's replicas (fsynced)";
const CLASSIC = "a publish resolves after the broker confirmed it: persistent, written to the classic queue's disk on one node";

export async function readRabbitmqDurability(
  probe: QueueProbe,
  groups: ReadonlyArray<readonly [string, CatalogGroup]>,
  processes: readonly ProcessRecord[],
): Promise<DurabilityReport> {
  const settings: Record<string, string> = {};
  const warnings: string[] = [];
  reportProcesses(processes, settings, warnings);
  const types = new Set<string>();
  for (const [group, entry] of groups) {
    const queues = [group, deadLetterQueueOf(group), ...Array.from({ length: entry.partitions ?? 0 }, (_, i) => partitionQueueOf(group, i))];
    for (const queue of queues) {
      const declared = await probe.declared(queue);
      if (!declared) continue; // A deleted group stays in the catalog; it has no queue to report.
      settings[`queue ${queue}`] = describe(declared);
      types.add(declared.type ?? "unknown");
      if (declared.type === "classic") {
        warnings.push(`queue ${queue} is classic (on the broker, whatever this process is configured with): it lives on one node, so a confirm means written to that node's disk, and losing that disk loses its confirmed messages; use quorum queues for replication`);
      } else if (declared.type !== undefined && declared.type !== "quorum") {
        warnings.push(`queue ${queue} is of type ${declared.type}: missive's confirms and acks are tested on quorum and classic queues only`);
      }
      if (declared.durable === false) warnings.push(`queue ${queue} is not durable: it and its messages are lost when the broker restarts`);
    }
  }
  if (groups.length === 0 || types.size === 0) {
    settings["queue types"] = "unknown: no consumer group is recorded in missive.catalog on this virtual host (AMQP cannot list queues)";
  }
  return { confirm: confirmOf(types), settings, warnings };
}

/** Each live process's own settings, as it recorded them; doctor's own options decide nothing and are not shown. */
function reportProcesses(processes: readonly ProcessRecord[], settings: Record<string, string>, warnings: string[]): void {
  if (processes.length === 0) {
    settings["processes"] = "unknown: no missive process has published or consumed on this virtual host in the last 15 s (each records its settings while it runs)";
    return;
  }
  settings["processes"] = `${processes.length} live`;
  for (const p of processes) {
    let key = `process ${p.pid}@${p.host}`;
    for (let n = 2; key in settings; n++) key = `process ${p.pid}@${p.host} #${n}`;
    const s = p.settings;
    settings[key] = [
      `missive ${p.missiveVersion}`,
      `heartbeat ${s.heartbeatSeconds < 0 ? "unknown" : s.heartbeatSeconds === 0 ? "off" : `${s.heartbeatSeconds} s`} (negotiated)`,
      `declares ${s.queueType} queues${s.declare ? "" : " (declare: false)"}`,
      `confirm timeout ${s.confirmTimeoutMs} ms`,
      `${s.nodes} node${s.nodes === 1 ? "" : "s"}`,
      s.tls ? "TLS" : "no TLS",
      `broker ${s.brokerVersion}`,
    ].join(", ");
    const who = `process ${p.pid}@${p.host} (started ${new Date(p.startedAt).toISOString()})`;
    if (s.heartbeatSeconds === 0) {
      warnings.push(`${who} runs with AMQP heartbeats off: when its network dies silently, the messages it holds stay unacked, and its publishes unconfirmed, until TCP notices (minutes)`);
    }
    if (s.queueType === "classic" && s.declare) {
      warnings.push(`${who} declares classic queues: a queue it creates lives on one node, so a confirm means written to that node's disk; use quorum queues for replication`);
    }
  }
}

function describe(q: DeclaredQueue): string {
  if (q.type === undefined) return `unknown (${q.unknown ?? "no answer"})`;
  const parts = [q.typeArgument === undefined ? `${q.type} (declared without x-queue-type: the broker's default)` : q.type];
  if (q.durable === false) parts.push("not durable");
  for (const [name, value] of Object.entries(q.arguments)) parts.push(`${name}=${String(value)}`);
  return parts.join(", ");
}

function confirmOf(types: ReadonlySet<string>): string {
  if (types.size === 0) return `unknown until a group's queue is read: with quorum queues ${QUORUM.replace("a publish resolves", "it resolves")}; with classic queues, to one node's disk`;
  if (types.size === 1 && types.has("quorum")) return QUORUM;
  if (types.size === 1 && types.has("classic")) return CLASSIC;
  return `it depends on the queue (see the warnings): with quorum queues ${QUORUM.replace("a publish resolves", "it resolves")}; with classic queues, written to one node's disk`;
}
