/**
 * `missive doctor`: what a confirm means on this transport (docs/contract.md §1),
 * from what the file or broker says and what the processes using it
 * recorded (the transport's DurabilityReporting), never from this command's
 * own options or connection.
 */
import type { Command } from "commander";
import { redact } from "../../connect.js";
import { ExitCode } from "../exit-codes.js";
import { safeText, writeJson, writeOut } from "../output.js";
import { urlOf, withTransport } from "../session.js";
import { reportsDurability } from "../../transport/abilities.js";

export function registerDoctor(program: Command, done: (code: number) => void): void {
  program
    .command("doctor")
    .description("how durable a confirm is, as the file or broker is set up and as each process using it opened it (exit 3 on a durability warning)")
    .option("--json", "one JSON document: {url, transport, capabilities, durability}")
    .action(async (options: { json?: boolean }, command: Command) => {
      const url = urlOf(command);
      done(
        await withTransport(command, async (transport) => {
          const report = reportsDurability(transport) ? await transport.durability() : undefined;
          if (options.json) {
            writeJson({ url: redact(url), transport: transport.name, capabilities: transport.capabilities, durability: report ?? null });
          } else {
            writeOut(`transport: ${transport.name} (${safeText(redact(url))})`);
            writeOut(`capabilities: ${Object.entries(transport.capabilities).map(([k, v]) => `${k}=${String(v)}`).join(" ")}`);
            if (!report) writeOut("durability: this transport reports nothing");
            else {
              writeOut(`confirm: ${report.confirm}`);
              for (const [k, v] of Object.entries(report.settings)) writeOut(`  ${k}: ${safeText(v)}`);
              for (const w of report.warnings) writeOut(`WARNING: ${w}`);
              if (report.warnings.length === 0) writeOut("no durability warnings");
            }
          }
          return report && report.warnings.length > 0 ? ExitCode.durabilityWarning : ExitCode.ok;
        }, true),
      );
    });
}
