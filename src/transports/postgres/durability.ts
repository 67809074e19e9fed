/**
 * What a publish confirm means on this server (docs/contract.md §1), read
 * from the server's own settings with SHOW and pg_stat_replication, never
 * from this process's options. A confirm is the COMMIT of the publishing
 * transaction; whether that survives a crash depends on fsync,
 * synchronous_commit and full_page_writes, and whether it survives losing
 * the server on synchronous replication.
 */
import type { Pool } from "pg";
import type { DurabilityReport } from "../../transport/transport.js";
import { query } from "./tx.js";

const SETTINGS = ["fsync", "synchronous_commit", "full_page_writes", "wal_level", "synchronous_standby_names", "data_checksums"] as const;

export async function readDurability(pool: Pool): Promise<DurabilityReport> {
  const { rows } = await query<{ name: string; setting: string }>(pool, "reading server settings", `SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])`, [[...SETTINGS]]);
  const s = new Map(rows.map((r) => [r.name, r.setting]));
  const replicas = await query<{ n: string; sync: string }>(
    pool,
    "reading replication state",
    `SELECT count(*) AS n, count(*) FILTER (WHERE sync_state IN ('sync', 'quorum')) AS sync FROM pg_stat_replication`,
  ).then(
    (r) => `${r.rows[0]?.n ?? "0"} connected (${r.rows[0]?.sync ?? "0"} synchronous)`,
    // pg_stat_replication needs pg_monitor to see other roles' rows; without it say so rather than guess.
    () => "unknown (this role cannot read pg_stat_replication)",
  );
  const settings: Record<string, string> = {};
  for (const name of SETTINGS) settings[name] = s.get(name) ?? "unknown";
  settings["replicas"] = replicas;
  const warnings: string[] = [];
  const fsync = s.get("fsync");
  const sync = s.get("synchronous_commit");
  const fpw = s.get("full_page_writes");
  if (fsync === "off") warnings.push("fsync is off: an OS crash or power loss can lose confirmed messages and corrupt the database");
  if (sync === "off") warnings.push("synchronous_commit is off: a server crash can lose the last confirmed messages (up to 3 × wal_writer_delay)");
  if (fpw === "off") warnings.push("full_page_writes is off: a power loss mid-write can tear pages and lose or corrupt confirmed messages");
  const standbys = s.get("synchronous_standby_names") ?? "";
  const local = sync === "local" || (standbys === "" && sync !== "off");
  return {
    confirm:
      "publish resolves after the COMMIT of the transaction that inserted its rows; " +
      (warnings.length > 0
        ? "that commit is not crash-safe on this server (see the warnings)"
        : local
          ? "the WAL is flushed to this server's disk at commit, so a confirmed message survives a server crash and power loss, but not the loss of this server's disk (no synchronous standby)"
          : `the WAL is flushed locally and on the synchronous standbys (${standbys}) before the commit returns`),
    settings,
    warnings,
  };
}
