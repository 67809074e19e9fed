/**
 * What a PubAck means on this server, read from the server: its version
 * (from the connection's INFO) and each of missive's streams' storage and
 * replicas (from the stream infos), never from this process's options.
 *
 * nats-server writes a stream's file store to the OS and syncs it to disk
 * on a timer (every 2 minutes by default; `sync_interval`, configurable
 * from 2.10, `always` there syncs every write). A PubAck says the message
 * is in the store of a majority of the stream's replicas, not that it is
 * on disk: with one replica, a power loss (or kernel crash) inside the
 * sync window loses confirmed messages. With three replicas on separate
 * machines, one machine's power loss does not.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { DurabilityReport } from "../../transport/transport.js";
import type { NatsNames } from "./names.js";

export async function readNatsDurability(jsm: JetStreamManager, names: NatsNames, serverVersion: string | undefined): Promise<DurabilityReport> {
  const settings: Record<string, string> = {};
  const warnings: string[] = [];
  settings["server version"] = serverVersion ?? "unknown";
  const [major = 0, minor = 0] = (serverVersion ?? "").split(".").map(Number);
  const configurableSync = major > 2 || (major === 2 && minor >= 10);
  settings["sync to disk"] = configurableSync
    ? "on a timer (sync_interval, default 2 min; `always` syncs every write): not readable over the client protocol"
    : "on a fixed timer (about every 2 min; not configurable before 2.10)";
  const account = await jsm.getAccountInfo();
  settings["jetstream storage in use"] = `${account.storage} bytes file, ${account.memory} bytes memory`;
  let unsafe = 0;
  let streams = 0;
  for (const name of await jsm.streams.names().next()) {
    if (names.topicOfStream(name) === undefined && names.groupOfStream(name) === undefined) continue;
    const info = await jsm.streams.info(name);
    streams++;
    settings[`stream ${name}`] = `storage ${info.config.storage}, replicas ${info.config.num_replicas}`;
    if (info.config.storage === "memory") warnings.push(`stream ${name} keeps its messages in memory: a server restart loses them, confirmed or not`);
    else if (info.config.num_replicas < 3) unsafe++;
  }
  if (streams === 0) settings["streams"] = "none yet (a stream is made when a group is bound)";
  if (unsafe > 0 || streams === 0) {
    warnings.push(
      `${unsafe > 0 ? `${unsafe} stream(s) have fewer than 3 replicas` : "streams are made with the replicas the bus is given"}: a PubAck means the message reached the server's file store, which nats-server syncs to disk on a timer, so a power loss within that window loses confirmed messages; use replicas=3 on a 3-node cluster${configurableSync ? " or sync_interval: always" : " (or nats-server 2.10+ with sync_interval: always)"}`,
    );
  }
  const confirm = unsafe > 0 || streams === 0
    ? "a publish resolves on the stream's PubAck: stored by the server (written to its file store, synced to disk on a timer, not per message)"
    : "a publish resolves on the stream's PubAck: stored by a majority of the stream's replicas (each syncs to disk on a timer)";
  return { confirm, settings, warnings };
}
