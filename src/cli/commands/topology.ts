/**
 * `missive topology <group> <type...>`: declare what a consumer group needs on
 * brokers with a topology of their own (RabbitMQ: the types' exchanges, the
 * group's queue and dead-letter queue, its bindings and every delay level),
 * run once by an operator with the rights to declare, so services can run
 * with least-privilege users and `declare: false`.
 */
import type { Command } from "commander";
import { ExitCode, usageError } from "../exit-codes.js";
import { safeText, writeJson, writeOut } from "../output.js";
import { withTransport } from "../session.js";
import { declaresTopology } from "../../transport/abilities.js";


export function registerTopology(program: Command, done: (code: number) => void): void {
  program
    .command("topology")
    .description("declare a consumer group's topology (queue, dead-letter queue, bindings to its message types, delay levels) for services run with declare: false")
    .argument("<group>", "the consumer group")
    .argument("<types...>", "the message types the group consumes")
    .option("--json", "one JSON document: {group, types, transport}")
    .action(async (group: string, types: string[], options: { json?: boolean }, command: Command) => {
      done(
        await withTransport(command, async (transport) => {
          if (!declaresTopology(transport)) throw usageError(`the ${transport.name} transport has no topology to declare: it creates what it needs itself`);
          await transport.declareTopology(group, types);
          if (options.json) writeJson({ group, types, transport: transport.name });
          else writeOut(`declared group ${safeText(group)} for ${types.map(safeText).join(", ")} on ${transport.name}`);
          return ExitCode.ok;
        }),
      );
    });
}
