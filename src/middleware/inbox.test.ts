import { describe, expect, it } from "vitest";
import { ConfigurationError, TransientError } from "../errors.js";
import { HANDLED, HANDLED_ACKED, DUPLICATE, failed, type Outcome, type Stage } from "../runtime/outcome.js";
import type { InboxOutcome, InboxStore } from "../stores/inbox.js";
import { job } from "../../test/support/stage-jobs.js";
import { inboxStage } from "./inbox.js";

/** An inbox store in a Set; `ackWithRow`: the queue lives in its database, so the ack commits with the row. */
function store(ackWithRow = false): InboxStore<unknown> & { rows: Set<string> } {
  const rows = new Set<string>();
  return {
    name: "test",
    rows,
    seen: (group, id) => Promise.resolve(rows.has(`${group}:${id}`)),
    runOnce<R>(group: string, id: string, _d: unknown, effects: (tx: unknown) => R): Promise<InboxOutcome<R>> {
      if (rows.has(`${group}:${id}`)) return Promise.resolve({ duplicate: true });
      const value = effects("tx");
      rows.add(`${group}:${id}`);
      return Promise.resolve({ duplicate: false, value, acked: ackWithRow });
    },
    cleanup: () => Promise.resolve(0),
  };
}

const run = (s: InboxStore<unknown>, inner: Stage): Promise<Outcome> => inboxStage(s, "g")(inner)(job());

describe("inbox stage", () => {
  it("inbox - a message this group handled is a duplicate; the handler does not run", async () => {
    const s = store();
    s.rows.add("g:m1");
    let ran = false;
    expect(await run(s, () => ((ran = true), Promise.resolve(HANDLED)))).toBe(DUPLICATE);
    expect(ran).toBe(false);
  });

  it("inbox - a handler that never calls ctx.transaction gets its row after it returns; an ack committed with it is said", async () => {
    const s = store(true);
    expect(await run(s, () => Promise.resolve(HANDLED))).toBe(HANDLED_ACKED);
    expect(s.rows.has("g:m1")).toBe(true);
    expect(await run(store(false), () => Promise.resolve(HANDLED))).toBe(HANDLED);
  });

  it("inbox - ctx.transaction runs once per attempt; effects committed then a throw is committed-then-failed", async () => {
    const s = store();
    const outcome = await run(s, async (j) => {
      expect(await j.transaction!(() => 42)).toBe(42);
      await expect(j.transaction!(() => 43)).rejects.toBeInstanceOf(ConfigurationError);
      return failed(new TransientError("after commit"));
    });
    expect(outcome).toMatchObject({ kind: "committed-then-failed", acked: false });
  });

  it("inbox - another delivery committed first: the attempt is a duplicate, not a failure", async () => {
    const s = store();
    const outcome = await run(s, async (j) => {
      s.rows.add("g:m1");
      try {
        await j.transaction!(() => undefined);
        return HANDLED;
      } catch (error) {
        return failed(error);
      }
    });
    expect(outcome).toBe(DUPLICATE);
  });
});
