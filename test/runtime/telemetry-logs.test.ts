/**
 * Logs an operator can follow a message by: every retry (id, type, group,
 * attempt, error code), every dead letter with its message id, and `ctx.log`
 * lines carrying the message's id, type, group and attempt.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineMessage, missive, PermanentError, TransientError } from "../../src/index.js";
import { createMemoryBroker } from "../../src/transports/memory/index.js";
import { recordingLogger } from "../support/recording-logger.js";
import { waitFor } from "../support/wait.js";

const Charged = defineMessage({ type: "telemetry.logs.charged", schema: z.object({ fail: z.enum(["once", "always"]) }) });

describe("telemetry - logs", () => {
  it("telemetry - retries were not logged, a dead letter's line had no message id and ctx.log had no message fields: each now says which message", async () => {
    const log = recordingLogger();
    const bus = await missive({ service: "logs", transport: createMemoryBroker().transport(), logger: log });
    let calls = 0;
    await bus.consume(Charged, { group: "billing", retry: { delays: ["5ms"] } }, (data, ctx) => {
      calls++;
      ctx.log.info({ step: "charging" }, "charging the card");
      if (data.fail === "always") throw new PermanentError("card refused");
      if (ctx.attempt === 1) throw new TransientError("gateway busy");
    }).ready;
    const retried = await bus.publish(Charged, { fail: "once" });
    const refused = await bus.publish(Charged, { fail: "always" });
    await waitFor(() => calls === 3 && log.at("warn", "dead-lettered").length === 1, 10_000, "a retry and a dead letter");
    await bus.close();

    const retries = log.at("warn", "retrying");
    expect(retries).toHaveLength(1);
    expect(retries[0]!.obj).toMatchObject({ id: retried.id, type: Charged.type, group: "billing", attempt: 1, code: "MISSIVE_TRANSIENT" });

    const deadLetters = log.at("warn", "dead-lettered");
    expect(deadLetters[0]!.obj).toMatchObject({ id: refused.id, group: "billing", reason: "permanent", code: "MISSIVE_PERMANENT" });

    const handlerLines = log.at("info", "charging the card").map((l) => l.obj);
    expect(handlerLines).toEqual(expect.arrayContaining([
      { id: retried.id, type: Charged.type, group: "billing", attempt: 1, step: "charging" },
      { id: retried.id, type: Charged.type, group: "billing", attempt: 2, step: "charging" },
      { id: refused.id, type: Charged.type, group: "billing", attempt: 1, step: "charging" },
    ]));
  });
});
