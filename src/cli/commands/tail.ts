/**
 * `missive tail <type|group>`: follow messages as they are published,
 * without taking anyone's: a temporary group of its own (removed when tail
 * ends) bound to the type, or to every topic of the group when the argument
 * names an existing group. One line per message, or JSON lines.
 */
import { cleanUp } from "../cleanup.js";
import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import { decodeEnvelope } from "../../envelope/codec.js";
import { DEFAULT_LIMITS } from "../../envelope/limits.js";
import type { Delivery, Subscription } from "../../transport/transport.js";
import { integerIn } from "../args.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { describeUnknownTarget } from "../known-names.js";
import { bodyView } from "../message-view.js";
import { clip, safeText, toJson, writeOut } from "../output.js";
import { stopOnSignals } from "../signals.js";
import { withTransport } from "../session.js";
import { canInspectQueues } from "../../transport/abilities.js";

interface TailOptions {
  readonly json?: boolean;
  readonly count?: number;
}

const PREFETCH = 64;
const LEASE_MS = 30_000;
const WAIT_MS = 1000;

export function registerTail(program: Command, done: (code: number) => void): void {
  program
    .command("tail")
    .description("follow messages as they are published, without consuming anyone's (a temporary group of its own)")
    .argument("<type|group>", "a message type, or an existing consumer group (then every topic it is bound to)")
    .option("--json", "one JSON document per line per message")
    .option("--count <n>", "exit after N messages", integerIn(1, 1_000_000_000))
    .action(async (target: string, options: TailOptions, command: Command) => {
      done(
        await withTransport(command, async (transport) => {
          // Without queue inspection the target can only be a message type, and nothing tells whether it exists.
          const stats = canInspectQueues(transport) ? (await transport.stats()).filter((s) => !s.temporary) : undefined;
          const group = stats?.find((s) => s.group === target);
          if (group && group.topics.length === 0) throw new CliError(`group ${safeText(target)} is bound to no topics: nothing to follow`, ExitCode.failed);
          if (stats && !group && !stats.some((s) => s.topics.includes(target))) {
            // Following a name nothing is bound to would wait forever for messages that cannot come.
            const known = { groups: [...new Set(stats.map((s) => s.group))].sort(), types: [...new Set(stats.flatMap((s) => s.topics))].sort() };
            throw new CliError(describeUnknownTarget(target, known), ExitCode.notFound);
          }
          const topics = group ? [...group.topics] : [target];
          const name = `missive.tail.${randomBytes(6).toString("hex")}`;
          const stop = stopOnSignals();
          let subscription: Subscription | undefined;
          try {
            subscription = await transport.subscribe({ group: name, topics, prefetch: PREFETCH, ordered: false, leaseMs: LEASE_MS, temporary: true });
            const sub = subscription;
            stop.signal.addEventListener("abort", () => void sub.close(), { once: true });
            process.stderr.write(`following ${topics.map(safeText).join(", ")} (temporary group ${name}; Ctrl-C to stop)\n`);
            let seen = 0;
            while (!stop.signal.aborted && (options.count === undefined || seen < options.count)) {
              const batch = await sub.receive(options.count === undefined ? PREFETCH : Math.min(PREFETCH, options.count - seen), WAIT_MS);
              for (const delivery of batch) {
                if (stop.signal.aborted) break;
                writeOut(options.json ? toJson(jsonLine(delivery)) : textLine(delivery));
                await delivery.ack();
                seen++;
              }
            }
          } finally {
            stop.dispose();
            if (subscription) await cleanUp("closing the subscription", () => subscription!.close());
          }
          return ExitCode.ok;
        }),
      );
    });
}

/** The documented JSON line of one message (docs/cli.md). */
function jsonLine(d: Delivery): Record<string, unknown> {
  const decoded = decodeEnvelope(d.wire, DEFAULT_LIMITS);
  if (!decoded.ok) {
    return { time: null, type: d.topic, id: d.wire.headers["ce-id"] ?? null, key: d.key ?? null, error: decoded.error.message, body: bodyView(d.wire.body) };
  }
  const e = decoded.envelope;
  return { time: e.time || null, type: e.type, id: e.id, key: e.key ?? null, source: e.source, dataschema: e.dataschema || null, data: e.data };
}

function textLine(d: Delivery): string {
  const decoded = decodeEnvelope(d.wire, DEFAULT_LIMITS);
  if (!decoded.ok) {
    const id = d.wire.headers["ce-id"] ?? "-";
    return `${new Date().toISOString()}  ${clip(d.topic, 60)}  ${clip(id, 40)}  ${clip(d.key ?? "-", 40)}  <undecodable: ${clip(decoded.error.message, 80)}> ${clip(Buffer.from(d.wire.body).toString("utf8"), 120)}`;
  }
  const e = decoded.envelope;
  let data: string;
  try {
    data = JSON.stringify(e.data) ?? "null";
  } catch {
    data = "<unprintable>";
  }
  return `${clip(e.time || new Date().toISOString(), 40)}  ${clip(e.type, 60)}  ${clip(e.id, 40)}  ${clip(e.key ?? "-", 40)}  ${clip(data, 200)}`;
}
