/**
 * `missive spool status|ls|flush <file>`: a producer's publish spool
 * (docs/producer.md), offline. `status` shows depth, the flush lease and the
 * broker/breaker state its producer last recorded; `ls` lists waiting or
 * parked messages; `flush` sends a spool to the transport of `--url` under
 * the lease (never while a live producer flushes it), forgetting each message
 * only after the broker's confirm.
 */
import { cleanUp } from "../cleanup.js";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import type { Command } from "commander";
import { isRetryable } from "../../errors.js";
import { flushRound, type Spool, type SpooledMessage } from "../../runtime/spool.js";
import { openSqliteSpool } from "../../stores/spool/index.js";
import { CliError, ExitCode, usageError } from "../exit-codes.js";
import { formatAge, formatTime, isoOrNull, safeText, table, writeJson, writeOut } from "../output.js";
import { stopOnSignals } from "../signals.js";
import { openTransport, urlOf } from "../session.js";
import { recorderLiveness } from "./spool-liveness.js";

const LEASE_MS = 30_000;

function openSpool(path: string, readonly: boolean): Spool {
  if (!existsSync(path)) throw usageError(`no spool file at ${JSON.stringify(path)}`);
  // create: false: pointed at some other SQLite file, the CLI refuses it and leaves it as it was.
  return openSqliteSpool({ path, readonly, create: false });
}

function withSpool<T>(path: string, readonly: boolean, work: (spool: Spool) => Promise<T> | T): Promise<T> {
  const spool = openSpool(path, readonly);
  return Promise.resolve()
    .then(() => work(spool))
    .finally(() => spool.close());
}

export function registerSpool(program: Command, done: (code: number) => void): void {
  const spool = program.command("spool").description("a producer's publish spool file: status, ls, flush (docs/producer.md)");

  spool
    .command("status")
    .description("depth, oldest waiting message, the flush lease, and the broker and breaker state its producer last recorded")
    .argument("<file>", "the spool file (publisher.spool)")
    .option("--json", "one JSON document")
    .action(async (file: string, options: { json?: boolean }) => {
      done(await withSpool(file, true, (s) => {
        const depth = s.depth();
        const lease = s.leaseHolder();
        const status = s.readStatus();
        const now = Date.now();
        const recorder = status ? recorderLiveness(status) : undefined;
        if (options.json) {
          writeJson({
            file,
            messages: depth.messages,
            bytes: depth.bytes,
            parked: depth.parked,
            oldestAgeMs: depth.oldestSpooledAt === undefined ? null : now - depth.oldestSpooledAt,
            lease: lease ? { ...lease, expired: lease.expiresAt <= now } : null,
            producer: status ? { ...status, process: recorder, ageMs: now - status.at } : null,
          });
          return ExitCode.ok;
        }
        writeOut(`${safeText(file)}: ${depth.messages} waiting (${depth.bytes} bytes), ${depth.parked} parked` +
          (depth.oldestSpooledAt === undefined ? "" : `, oldest ${formatAge(now - depth.oldestSpooledAt)} old`));
        writeOut(lease
          ? `flush lease: ${safeText(lease.host)} pid ${lease.pid}, ${lease.expiresAt > now ? `expires in ${formatAge(lease.expiresAt - now)}` : "expired"}`
          : "flush lease: nobody");
        writeOut(!status
          ? "producer: no status recorded"
          : recorder === "gone"
            // Its process is gone: what it recorded is history, not the broker's state now.
            ? `producer (pid ${status.pid} on ${safeText(status.host)}): gone; stale record from ${formatAge(now - status.at)} ago (last said broker ${status.broker}, breaker ${status.breaker})`
            : `producer (pid ${status.pid} on ${safeText(status.host)}${recorder === "unknown" ? ", another host: not known to be running" : ""}, recorded ${formatTime(status.at)}, ${formatAge(now - status.at)} ago): broker ${status.broker}, breaker ${status.breaker}`);
        return ExitCode.ok;
      }));
    });

  spool
    .command("ls")
    .description("waiting messages in flush order (or parked ones, with why)")
    .argument("<file>", "the spool file")
    .option("--limit <n>", "most messages listed", "100")
    .option("--parked", "list the parked messages (the broker refused them for good while flushing)")
    .option("--json", "a JSON array")
    .action(async (file: string, options: { limit: string; parked?: boolean; json?: boolean }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw usageError("--limit must be a positive integer");
      done(await withSpool(file, true, (s) => {
        const rows: Array<SpooledMessage & { reason?: string; parkedAt?: number }> = options.parked ? s.parked(limit) : s.peek(limit);
        const view = rows.map((r) => ({
          seq: r.seq,
          id: r.message.id,
          type: r.message.topic,
          key: r.message.key ?? null,
          bytes: r.message.wire.body.byteLength,
          spooledAt: isoOrNull(r.spooledAt),
          attempts: r.attempts,
          ...(r.reason === undefined ? {} : { reason: r.reason, parkedAt: isoOrNull(r.parkedAt) }),
        }));
        if (options.json) writeJson(view);
        else if (view.length === 0) writeOut(options.parked ? "no parked messages" : "no waiting messages");
        else {
          const headers = ["seq", "id", "type", "key", "bytes", "spooled at", "attempts", ...(options.parked ? ["reason"] : [])];
          writeOut(table(headers, view.map((v) => [
            String(v.seq), safeText(v.id), safeText(v.type), safeText(v.key ?? "-"), String(v.bytes), v.spooledAt ?? "-", String(v.attempts),
            ...(options.parked ? [safeText(v.reason ?? "")] : []),
          ])));
        }
        return ExitCode.ok;
      }));
    });

  spool
    .command("flush")
    .description("send a spool's messages to the transport of --url / MISSIVE_URL, in order, same ids; refuses while a live producer holds the flush lease")
    .argument("<file>", "the spool file")
    .option("--batch <n>", "messages per publish", "256")
    .option("--include-parked", "put parked messages back in the flush first")
    .option("--json", "one JSON document: {flushed, parked, remaining, seconds}")
    .action(async (file: string, options: { batch: string; includeParked?: boolean; json?: boolean }, command: Command) => {
      const batch = Number(options.batch);
      if (!Number.isInteger(batch) || batch < 1) throw usageError("--batch must be a positive integer");
      const url = urlOf(command);
      done(await withSpool(file, false, async (s) => {
        const owner = `missive-cli:${hostname()}:${process.pid}`;
        if (!s.lease(owner, LEASE_MS)) {
          const holder = s.leaseHolder();
          throw new CliError(`the spool is being flushed by ${holder ? `${safeText(holder.host)} pid ${holder.pid}` : "another process"}: not flushing it twice`, ExitCode.failed);
        }
        const stop = stopOnSignals();
        const started = Date.now();
        let flushed = 0;
        let parked = 0;
        let transport: Awaited<ReturnType<typeof openTransport>> | undefined;
        try {
          transport = await openTransport(url);
          if (options.includeParked) s.unpark();
          while (!stop.signal.aborted) {
            if (!s.lease(owner, LEASE_MS)) throw new CliError("lost the spool's flush lease: stopping", ExitCode.failed);
            const peeked = s.peek(batch);
            if (peeked.length === 0) break;
            const { send: rows, damagedHead } = flushRound(peeked);
            if (damagedHead) {
              s.park(damagedHead.seq, damagedHead.damaged!);
              parked++;
              continue;
            }
            let results;
            try {
              results = await transport.publish(rows.map((r) => r.message));
            } catch (err) {
              s.attempted(rows.map((r) => r.seq));
              throw new CliError(`flush failed after ${flushed} messages (the rest stay spooled): ${err instanceof Error ? err.message : String(err)}`, ExitCode.failed, { cause: err });
            }
            const confirmed: number[] = [];
            for (let i = 0; i < rows.length; i++) {
              const err = results[i];
              if (err === undefined) confirmed.push(rows[i]!.seq);
              else if (!isRetryable(err)) {
                s.park(rows[i]!.seq, `${err.name}: ${err.message}`);
                parked++;
              } else {
                s.attempted([rows[i]!.seq]);
                throw new CliError(`the broker did not take message ${rows[i]!.message.id}: ${err.message} (it stays spooled)`, ExitCode.failed);
              }
            }
            // The file must forget what was confirmed, or the next round would send it again, forever.
            if (s.remove(confirmed) < confirmed.length) {
              throw new CliError(`the spool file did not forget ${confirmed.length} confirmed messages (is it damaged?): stopping after ${flushed + confirmed.length}`, ExitCode.failed);
            }
            flushed += confirmed.length;
            // Let a signal in between batches, whatever the transport does.
            await new Promise((resolve) => setImmediate(resolve));
          }
        } finally {
          s.releaseLease(owner);
          stop.dispose();
          if (transport) await cleanUp("closing the transport", () => transport!.close());
        }
        const remaining = s.depth();
        const seconds = (Date.now() - started) / 1000;
        if (options.json) writeJson({ flushed, parked, remaining: remaining.messages, parkedTotal: remaining.parked, seconds });
        else writeOut(`flushed ${flushed} (${Math.round(flushed / Math.max(seconds, 0.001))} msg/s), parked ${parked}, ${remaining.messages} still waiting, ${remaining.parked} parked in all`);
        return stop.signal.aborted ? ExitCode.aborted : ExitCode.ok;
      }));
    });
}
