/**
 * What an XADD reply means on this server, read from the server's own
 * persistence settings (CONFIG GET; INFO persistence where CONFIG is not
 * allowed, e.g. managed Redis), never from this process's options:
 *
 * - `appendonly no`: the entry is in memory; a restart (even a clean one,
 *   after the last RDB save) loses what came since the last snapshot.
 * - `appendonly yes` + `appendfsync everysec`: written to the AOF, fsynced
 *   about once a second: a crash loses up to a second of confirmed entries.
 * - `appendfsync always`: fsynced before the reply: durable.
 * - `appendfsync no`: the OS decides when to flush (about 30 s on Linux).
 *
 * WAITAOF (Redis 7.2) would let each publish wait for the local fsync (and
 * replicas' AOF) whatever the policy; on older servers only the policy counts.
 */
import type { Redis } from "ioredis";
import type { DurabilityReport } from "../../transport/transport.js";

export async function readRedisDurability(redis: Redis): Promise<DurabilityReport> {
  const settings: Record<string, string> = {};
  const info = parseInfo(await redis.info("server").then(String) + "\n" + (await redis.info("persistence").then(String)));
  const version = info.get("redis_version") ?? "unknown";
  settings["server version"] = version;
  let appendonly: string | undefined;
  let appendfsync: string | undefined;
  try {
    const config = (await redis.config("GET", "appendonly")) as string[];
    appendonly = config[1];
    appendfsync = ((await redis.config("GET", "appendfsync")) as string[])[1];
    settings["save"] = ((await redis.config("GET", "save")) as string[])[1] ?? "";
  } catch {
    // CONFIG is refused (ACL, managed services): INFO persistence tells whether AOF is on, not its fsync policy.
    appendonly = info.get("aof_enabled") === "1" ? "yes" : info.get("aof_enabled") === "0" ? "no" : undefined;
    settings["read from"] = "INFO persistence (CONFIG GET was refused)";
  }
  settings["appendonly"] = appendonly ?? "unknown";
  settings["appendfsync"] = appendfsync ?? "unknown";
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const waitaof = major > 7 || (major === 7 && minor >= 2);
  settings["WAITAOF"] = waitaof
    ? "available (Redis 7.2+): not used yet; a publish could wait for the fsync whatever appendfsync says"
    : `not available (Redis ${version}; 7.2+ has it): a publish can only be as durable as appendfsync`;

  const warnings: string[] = [];
  let confirm: string;
  if (appendonly !== "yes") {
    confirm = "a publish resolves on the XADD reply: the entry is in the server's memory only (no AOF)";
    warnings.push(`appendonly is ${appendonly ?? "unknown"}: a confirmed message is lost on any server restart (RDB snapshots, save "${settings["save"] ?? "?"}", keep only what the last save had); set appendonly yes with appendfsync always`);
  } else if (appendfsync === "always") {
    confirm = "a publish resolves on the XADD reply: the server fsynced the entry to its append-only file first (appendfsync always)";
  } else if (appendfsync === "everysec") {
    confirm = "a publish resolves on the XADD reply: written to the append-only file, fsynced about once a second";
    warnings.push("appendfsync everysec: a crash of the server or machine can lose up to a second of confirmed messages; appendfsync always fsyncs before each reply");
  } else {
    confirm = "a publish resolves on the XADD reply: written to the append-only file, flushed to disk when the OS decides";
    warnings.push(`appendfsync ${appendfsync ?? "unknown"}: a machine crash can lose confirmed messages (the OS flushes when it likes, about every 30 s on Linux); appendfsync always fsyncs before each reply`);
  }
  return { confirm, settings, warnings };
}

function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}
