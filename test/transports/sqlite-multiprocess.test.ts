import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait.js";
import { bodyOf, message, sqliteFixture, subOptions } from "./sqlite-support.js";

const WORKER = fileURLToPath(new URL("../fixtures/sqlite-worker.ts", import.meta.url));

interface Worker {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  stderr(): string;
}

describe("sqlite transport - several processes on one file", () => {
  const fx = sqliteFixture();
  const workers: Worker[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
  });

  function worker(...args: string[]): Worker {
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, ...args], { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = [];
    let err = "";
    createInterface({ input: child.stdout! }).on("line", (line) => lines.push(line));
    child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const w = { child, lines, exited, stderr: () => err };
    workers.push(w);
    return w;
  }

  const ready = (w: Worker): Promise<void> => waitFor(() => w.lines.includes("ready"), 30_000, `worker ready (stderr: ${w.stderr()})`);

  it("sqlite - two consumer processes split a group, none lost or duplicated, while a third process produces", async () => {
    const t = fx.open();
    const path = fx.dbPath();
    await t.bind("g", ["t"]);
    const consumers = [worker("consume", path, "g", "t"), worker("consume", path, "g", "t")];
    await Promise.all(consumers.map(ready));

    // Half from this process, half from another process, interleaved.
    const producer = worker("produce", path, "t", "500", "child-");
    const mine = Array.from({ length: 500 }, (_, i) => `parent-${i}`);
    for (let i = 0; i < mine.length; i += 25) {
      const batch = mine.slice(i, i + 25).map((id, j) => message("t", id, `k${(i + j) % 5}`));
      expect((await t.publish(batch)).every((r) => r === undefined)).toBe(true);
    }
    expect(await producer.exited).toBe(0);
    t.database.exec("CREATE TABLE fixture_done (x)");
    const codes = await Promise.all(consumers.map((c) => c.exited));
    expect(codes, consumers.map((c) => c.stderr()).join("\n")).toEqual([0, 0]);

    const got = consumers.flatMap((c) => c.lines.filter((l) => l !== "ready"));
    const expected = [...mine, ...Array.from({ length: 500 }, (_, i) => `child-${i}`)];
    expect(got.length).toBe(expected.length); // nothing duplicated
    expect(new Set(got)).toEqual(new Set(expected)); // nothing lost
    for (const c of consumers) expect(c.lines.length).toBeGreaterThan(1);
    expect(t.database.prepare("SELECT COUNT(*) FROM missive_queue").pluck().get()).toBe(0);
  });

  it("sqlite - a waiting receive wakes for another process's publish (data_version polling)", async () => {
    const t = fx.open({ pollMaxMs: 50 });
    const sub = await t.subscribe(subOptions("g", ["t"], { ordered: false, prefetch: 100 }));
    const waiting = sub.receive(100, 20_000);
    const producer = worker("produce", fx.dbPath(), "t", "1", "x");
    const [d] = await waiting;
    expect(bodyOf(d!)).toBe("x0");
    await d!.ack();
    expect(await producer.exited).toBe(0);
  });

  it("sqlite - a killed consumer process's message comes back after its lease", async () => {
    const t = fx.open();
    const sub = await t.subscribe(subOptions("g", ["t"]));
    await t.publish([message("t", "m1", "K"), message("t", "m2", "K")]);
    const holder = worker("hold", fx.dbPath(), "g", "t", "1000");
    await waitFor(() => holder.lines.length >= 2, 30_000, `the holder's message (stderr: ${holder.stderr()})`);
    expect(holder.lines[1]).toBe("m1");
    // Held and renewed: nobody else gets m1, and m2 waits behind it.
    expect(await sub.receive(10, 1500)).toEqual([]);
    holder.child.kill("SIGKILL");
    await holder.exited;
    const killedAt = Date.now();
    const [d] = await sub.receive(10, 10_000);
    expect(bodyOf(d!)).toBe("m1");
    expect(d!.attempt).toBe(2);
    expect(Date.now() - killedAt).toBeLessThan(8000);
    await d!.ack();
    const [next] = await sub.receive(10, 1000);
    expect(bodyOf(next!)).toBe("m2");
    await next!.ack();
  });
});
