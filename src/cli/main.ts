#!/usr/bin/env node
/**
 * The `missive` command. Today: `doctor` (what a confirm means on a transport,
 * as configured) and `--version`. Queue inspection and dead-letter redrive
 * build on the same entry point.
 */
import { parseArgs } from "node:util";
import { redact, resolveTransport } from "../connect.js";
import { isMissiveError } from "../errors.js";
import { MISSIVE_VERSION } from "../version.js";

const HELP = `missive ${MISSIVE_VERSION}: reliable messaging for Node.js

Usage:
  missive doctor [--url URL] [--json]   how durable a confirm is on this transport, as configured
  missive --version
  missive --help

The transport URL comes from --url or MISSIVE_URL (e.g. sqlite://./missive.db).
Exit codes: 0 ok, 1 failed, 2 usage error, 3 doctor found a durability warning.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      json: { type: "boolean", default: false },
      version: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.version) {
    process.stdout.write(`${MISSIVE_VERSION}\n`);
    return 0;
  }
  const [command] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${HELP}\n`);
    return values.help ? 0 : 2;
  }
  if (command !== "doctor") {
    process.stderr.write(`missive: unknown command ${JSON.stringify(command)}\n\n${HELP}\n`);
    return 2;
  }
  const url = values.url ?? process.env["MISSIVE_URL"];
  if (!url) {
    process.stderr.write("missive: no transport URL: pass --url or set MISSIVE_URL\n");
    return 2;
  }
  const { transport } = await resolveTransport(url);
  try {
    await transport.connect();
    const report = transport.durability ? await transport.durability() : undefined;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ url: redact(url), transport: transport.name, capabilities: transport.capabilities, durability: report ?? null })}\n`);
    } else {
      process.stdout.write(`transport: ${transport.name} (${redact(url)})\n`);
      process.stdout.write(`capabilities: ${Object.entries(transport.capabilities).map(([k, v]) => `${k}=${String(v)}`).join(" ")}\n`);
      if (!report) process.stdout.write("durability: this transport reports nothing\n");
      else {
        process.stdout.write(`confirm: ${report.confirm}\n`);
        for (const [k, v] of Object.entries(report.settings)) process.stdout.write(`  ${k}: ${v}\n`);
        for (const w of report.warnings) process.stdout.write(`WARNING: ${w}\n`);
        if (report.warnings.length === 0) process.stdout.write("no durability warnings\n");
      }
    }
    return report && report.warnings.length > 0 ? 3 : 0;
  } finally {
    await transport.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A clear line, no stack (set MISSIVE_DEBUG=1 for one), never a password.
    const message = err instanceof Error ? err.message : String(err);
    const code = isMissiveError(err) ? ` [${err.code}]` : "";
    process.stderr.write(`missive: ${redact(message)}${code}\n`);
    if (process.env["MISSIVE_DEBUG"] && err instanceof Error) process.stderr.write(`${err.stack ?? ""}\n`);
    process.exit(isMissiveError(err) && (err.code === "MISSIVE_CONFIG" || err.code === "MISSIVE_AUTH") ? 2 : 1);
  },
);
