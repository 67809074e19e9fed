/** Runs one example as a user would (`tsx examples/<name>.ts`) and returns what it printed. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export async function runExample(name: string): Promise<string> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", `examples/${name}.ts`], { cwd: process.cwd(), timeout: 60_000 });
  return stdout;
}
