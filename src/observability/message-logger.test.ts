import { describe, expect, it } from "vitest";
import { noopLogger, type Logger } from "./logger.js";
import { messageLogger } from "./message-logger.js";

describe("message logger", () => {
  it("message logger - every line carries the message's id, type, group and attempt; the handler's own fields win", () => {
    const lines: Array<{ level: string; obj: object; msg: string | undefined }> = [];
    const at = (level: string) => (obj: object, msg?: string): void => void lines.push({ level, obj, msg });
    const base: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
    const log = messageLogger(base, { id: "m1", type: "order.created" }, "billing", 2);
    log.info({ orderId: "o1" }, "charged");
    log.error({ attempt: 99 }, "odd");
    log.debug({}, undefined);
    log.warn({ id: "mine" });
    expect(lines).toEqual([
      { level: "info", obj: { id: "m1", type: "order.created", group: "billing", attempt: 2, orderId: "o1" }, msg: "charged" },
      { level: "error", obj: { id: "m1", type: "order.created", group: "billing", attempt: 99 }, msg: "odd" },
      { level: "debug", obj: { id: "m1", type: "order.created", group: "billing", attempt: 2 }, msg: undefined },
      { level: "warn", obj: { id: "mine", type: "order.created", group: "billing", attempt: 2 }, msg: undefined },
    ]);
  });

  it("message logger - the no-op logger stays itself: nothing is made per message", () => {
    expect(messageLogger(noopLogger, { id: "m1", type: "t" }, "g", 1)).toBe(noopLogger);
  });
});
