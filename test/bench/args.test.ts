/** `npm run bench` options: `--only` picks the transports whose rows run, and refuses names it does not know. */
import { describe, expect, it } from "vitest";
import { parseArgs, TRANSPORTS } from "../../bench/lib/args.js";

describe("bench args", () => {
  it("bench args - without --only every transport runs", () => {
    expect([...parseArgs(["--quick"], {}).only]).toEqual([...TRANSPORTS]);
  });

  it("bench args - --only nats,postgres runs those two alone", () => {
    const only = parseArgs(["--quick", "--only", "nats,postgres"], {}).only;
    expect([...only].sort()).toEqual(["nats", "postgres"]);
    expect(only.has("sqlite")).toBe(false);
    expect(only.has("rabbitmq")).toBe(false);
  });

  it("bench args - --only with an unknown transport or nothing after it is refused, naming the known ones", () => {
    expect(() => parseArgs(["--only", "nats,kafka"], {})).toThrow(/sqlite, rabbitmq, nats, postgres.*kafka/);
    expect(() => parseArgs(["--only"], {})).toThrow(/--only takes/);
    expect(() => parseArgs(["--only", ","], {})).toThrow(/--only takes/);
  });
});
