/**
 * docs/guarantees.md is what the tests say: regenerated from the test names
 * (`npm run guarantees`), it must equal the committed file, so CI fails on a
 * stale matrix; and the mapping never claims a promise no test proves.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cellOf, renderGuarantees, type ListedTest } from "../../scripts/guarantees/render.js";
import { PROMISES } from "../../scripts/guarantees/promises.js";

const root = resolve(import.meta.dirname, "../..");
const promise = (id: string) => PROMISES.find((p) => p.id === id)!;

describe("guarantees", () => {
  it("guarantees - docs/guarantees.md is up to date with the test names (npm run guarantees -- --check)", async () => {
    const r = await new Promise<{ code: number; stderr: string }>((done) => {
      execFile(process.execPath, ["--import", "tsx", "scripts/guarantees.ts", "--check"], { cwd: root, timeout: 580_000 }, (err, _stdout, stderr) => {
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr });
      });
    });
    expect(r.stderr).not.toContain("stale");
    expect(r.code).toBe(0);
  }, 600_000);

  it("guarantees - a promise no test proves on a transport says not proven, never proven", () => {
    const tests: ListedTest[] = [{ file: "test/conformance/sqlite.conformance.test.ts", name: "conformance - sqlite > ordering - per-key order under concurrency 32" }];
    expect(cellOf(promise("order-in-process"), "sqlite", tests)).toMatchObject({ kind: "proven", proofs: [{ file: tests[0]!.file, configuration: expect.stringContaining("synchronous=FULL") }] });
    expect(cellOf(promise("order-in-process"), "rabbitmq", tests)).toEqual({ kind: "not proven" });
    expect(cellOf(promise("no-loss-network"), "sqlite", tests)).toMatchObject({ kind: "does not apply" });
    const doc = renderGuarantees(tests);
    expect(doc).toContain("not proven");
    expect(doc).not.toMatch(/RabbitMQ \(single node\)\*\*: proven/);
  });

  it("guarantees - a control test (what goes wrong without the feature) proves nothing", () => {
    const control: ListedTest = { file: "test/faults/sqlite-consumer-sigkill.test.ts", name: "faults - sqlite consumer sigkill > faults - control: without the inbox, a consumer SIGKILLed between effect and ack doubles that effect" };
    expect(cellOf(promise("no-loss-consumer-sigkill"), "sqlite", [control])).toEqual({ kind: "not proven" });
  });

  it("guarantees - the replicated cluster's fault test lands in its own column, with its configuration", () => {
    const cluster: ListedTest = {
      file: "test/faults/rabbitmq-cluster.test.ts",
      name: "faults - rabbitmq cluster (3 nodes, quorum, 3 replicas) > faults - rabbitmq cluster (3 nodes, quorum, 3 replicas): the queue leader's node SIGKILLed mid-stream: lost confirmed 0, double effects 0, order violations 0",
    };
    for (const id of ["no-loss-broker-restart", "at-least-once", "effectively-once", "order-in-process"]) {
      const cell = cellOf(promise(id), "rabbitmq-cluster", [cluster]);
      expect(cell, id).toMatchObject({ kind: "proven", proofs: [{ configuration: expect.stringContaining("3 replicas") }] });
      expect(cellOf(promise(id), "rabbitmq", [cluster]), id).toEqual({ kind: "not proven" });
    }
  });
});
