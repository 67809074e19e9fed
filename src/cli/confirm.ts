/**
 * A yes/no question on stderr, answered on stdin, so `echo y | missive …`
 * works in scripts and tests. Only `y` or `yes` (any case) is a yes; a
 * closed stdin with no answer is `undefined` (the caller aborts).
 */
import type { Readable, Writable } from "node:stream";

export async function ask(question: string, input: Readable = process.stdin, output: Writable = process.stderr): Promise<boolean | undefined> {
  output.write(`${question} [y/N] `);
  const answer = await readLine(input);
  // A terminal echoes the answer and its newline; a pipe echoes nothing, and what follows would share the question's line.
  if (answer === undefined || !(input as Readable & { isTTY?: boolean }).isTTY) output.write("\n");
  return answer === undefined ? undefined : /^\s*y(es)?\s*$/i.test(answer);
}

function readLine(input: Readable): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buffered = "";
    const finish = (line: string | undefined): void => {
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("error", onEnd);
      input.pause();
      resolve(line);
    };
    const onData = (chunk: Buffer | string): void => {
      buffered += chunk.toString();
      const nl = buffered.indexOf("\n");
      if (nl !== -1) finish(buffered.slice(0, nl));
      else if (buffered.length > 1024) finish(buffered);
    };
    const onEnd = (): void => finish(buffered === "" ? undefined : buffered);
    input.on("data", onData);
    input.once("end", onEnd);
    input.once("error", onEnd);
    input.resume();
  });
}
