/**
 * `missive publish <type> <json>`: for operators and tests. With a contract
 * module the data is validated and published with that contract; without
 * one it is published as given, unvalidated, as version 1 of the type
 * (`--data-version` to say otherwise).
 */
import { cleanUp } from "../cleanup.js";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { Command } from "commander";
import { missive } from "../../connect.js";
import { defineMessage, type MessageDefinition } from "../../contract/define-message.js";
import { isMissiveError, UnroutableError } from "../../errors.js";
import { integerIn } from "../args.js";
import { contractFor, contractsPathOf } from "../contracts-module.js";
import { ExitCode } from "../exit-codes.js";
import { parseJsonArgument } from "../json-arg.js";
import { safeText, writeErr, writeJson, writeOut } from "../output.js";
import { openTransport, urlOf } from "../session.js";

interface PublishCliOptions {
  readonly key?: string;
  readonly id?: string;
  readonly contracts?: string;
  readonly source?: string;
  readonly dataVersion?: number;
  readonly json?: boolean;
}

/** Takes anything: publishing without a contract module validates nothing. */
const ANYTHING: StandardSchemaV1<unknown, unknown> = {
  "~standard": { version: 1, vendor: "missive-cli", validate: (value) => ({ value }) },
};

export const UNVALIDATED =
  "note: the data is NOT validated (no contracts module): it is published as given. To validate it against its contract, pass --contracts <module> (or set MISSIVE_CONTRACTS)";

export function registerPublish(program: Command, done: (code: number) => void): void {
  program
    .command("publish")
    .description("publish one message and print its id")
    .argument("<type>", "the message type, e.g. order.created")
    .argument("<json>", "the data, as JSON")
    .option("--key <key>", "ordering key (default: the contract's key of the data)")
    .option("--id <id>", "message id (default: a new UUIDv7)")
    .option("--contracts <module>", "ES module exporting the contracts (defineMessage) to validate against; default $MISSIVE_CONTRACTS")
    .option("--data-version <n>", "without a contract: the version the data is written at (default 1)", integerIn(1, 1_000_000))
    .option("--source <source>", "the CloudEvents source (default missive-cli)")
    .option("--json", "one JSON document {id, type}")
    .addHelpText("after", "\nWithout a contract module the data is NOT validated: it is published as given.\nA contract refusing the data: its issues are printed, nothing is sent, exit 1.\nNobody bound to the type (no consumer group receives it): exit 1, nothing is stored.")
    .action(async (type: string, json: string, options: PublishCliOptions, command: Command) => {
      const data = parseJsonArgument(json, "the <json> argument");
      const path = contractsPathOf(options.contracts);
      const contract: MessageDefinition = path !== undefined
        ? await contractFor(path, type)
        : defineMessage({ type, version: options.dataVersion ?? 1, schema: ANYTHING });
      const url = urlOf(command);
      const transport = await openTransport(url);
      const bus = await missive({ service: options.source ?? "missive-cli", transport, publisher: { timeout: "15s" } }).catch(async (err: unknown) => {
        await cleanUp("closing the transport", () => transport.close());
        throw err;
      });
      try {
        const receipt = await bus.publish(contract, data, { ...(options.key === undefined ? {} : { key: options.key }), ...(options.id === undefined ? {} : { id: options.id }) });
        if (options.json) writeJson({ id: receipt.id, type });
        else writeOut(receipt.id);
        // Said on every unvalidated publish, on stderr (stdout stays the id alone): nothing checked this data.
        if (path === undefined) writeErr(UNVALIDATED);
      } catch (err) {
        if (isMissiveError(err) && err.code === "MISSIVE_UNROUTABLE") {
          throw new UnroutableError(`nobody receives ${safeText(type)}: no consumer group is bound to it, so nothing was published`, { cause: err });
        }
        throw err;
      } finally {
        await cleanUp("closing the bus", () => bus.close({ deadline: 1000 }));
      }
      done(ExitCode.ok);
    });
}
