/**
 * `missive queues`: per consumer group its topics, depth (ready, in flight,
 * delayed), oldest-message age, dead letters, consumers, and whether it is
 * being consumed (consumer-state.ts: a group with ready messages and no
 * consumer is flagged STALLED); `--watch` redraws every N seconds until
 * SIGINT/SIGTERM/SIGHUP, then closes and exits 0.
 */
import type { Command } from "commander";
import { secondsAtLeast } from "../args.js";
import { ExitCode, usageError } from "../exit-codes.js";
import { clip, formatAge, orDash, table, toJson, writeOut } from "../output.js";
import { sleepUnlessAborted, stopOnSignals } from "../signals.js";
import { withTransport } from "../session.js";
import { consumerState, stateText } from "./consumer-state.js";
import { withGoneConsumers, type GroupView } from "./sqlite-consumers.js";
import { canInspectQueues } from "../../transport/abilities.js";

interface QueuesOptions {
  readonly watch?: boolean | number;
  readonly all?: boolean;
  readonly json?: boolean;
}

const DEFAULT_WATCH_S = 2;

export function registerQueues(program: Command, done: (code: number) => void): void {
  program
    .command("queues")
    .description("per consumer group: topics, depth, ready, in flight, delayed, oldest-message age, dead letters, consumers")
    .option("--watch [seconds]", `redraw every N seconds (default ${DEFAULT_WATCH_S}) until Ctrl-C`, secondsAtLeast(0.1))
    .option("--all", "include temporary groups (request-reply, tail)")
    .option("--json", "one JSON document {groups: [...]} (with --watch: one line per refresh)")
    .action(async (options: QueuesOptions, command: Command) => {
      done(
        await withTransport(command, async (transport) => {
          if (!canInspectQueues(transport)) throw usageError(`the ${transport.name} transport cannot report its queues`);
          const read = async (): Promise<GroupView[]> => withGoneConsumers(transport, (await transport.stats()).filter((s) => options.all || !s.temporary));
          if (options.watch === undefined) {
            render(await read(), transport.name, options, false);
            return ExitCode.ok;
          }
          const intervalMs = (typeof options.watch === "number" ? options.watch : DEFAULT_WATCH_S) * 1000;
          const stop = stopOnSignals();
          try {
            while (!stop.signal.aborted) {
              render(await read(), transport.name, options, true);
              await sleepUnlessAborted(intervalMs, stop.signal);
            }
          } finally {
            stop.dispose();
          }
          return ExitCode.ok;
        }, true),
      );
    });
}

function render(stats: GroupView[], transportName: string, options: QueuesOptions, watching: boolean): void {
  if (options.json) {
    writeOut(toJson({ at: new Date().toISOString(), groups: stats.map((s) => jsonOf(s, transportName)) }));
    return;
  }
  const body = stats.length === 0
    ? "no consumer groups"
    : table(
        ["GROUP", "TOPICS", "DEPTH", "READY", "IN FLIGHT", "DELAYED", "OLDEST", "DEAD", "CONSUMERS", "STATE"],
        stats.map((s) => [
          s.temporary ? `${s.group} (temporary)` : s.group,
          clip(s.topics.join(",") || "-", 40),
          String(s.depth),
          String(s.ready),
          String(s.inFlight),
          String(s.delayed),
          s.oldestAgeMs === undefined ? "-" : formatAge(s.oldestAgeMs),
          orDash(s.deadLetters),
          s.consumers === undefined ? "unknown" : String(s.consumers),
          stateText(consumerState(s, transportName)),
        ]),
      );
  if (!watching) writeOut(body);
  else if (process.stdout.isTTY) writeOut(`\x1b[H\x1b[2J${new Date().toISOString()}  (Ctrl-C to stop)\n\n${body}`);
  else writeOut(`${new Date().toISOString()}\n${body}\n`);
}

/** The documented JSON shape of one group (docs/cli.md). */
function jsonOf(s: GroupView, transportName: string): Record<string, unknown> {
  const state = consumerState(s, transportName);
  return {
    group: s.group,
    topics: s.topics,
    depth: s.depth,
    ready: s.ready,
    inFlight: s.inFlight,
    delayed: s.delayed,
    oldestAgeMs: s.oldestAgeMs ?? null,
    deadLetters: s.deadLetters ?? null,
    consumers: s.consumers ?? null,
    consumerState: state.state,
    consumerStateWhy: state.why ?? null,
    temporary: s.temporary,
  };
}
