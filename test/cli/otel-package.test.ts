/**
 * The published package with the OpenTelemetry SDK an application really
 * installs: the tarball `npm pack` makes, installed from the npm registry in a
 * project of its own next to the SDK, records spans and metrics. With
 * `@opentelemetry/api` a hard dependency, the SDK 2.x (which pins the API to
 * 1.9) left missive a nested copy of its own, and nothing was recorded.
 * Needs `npm run build` (the tarball holds dist/) and the registry.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "./helpers.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "missive-otel-package-"));
let tarball = "";

interface Recorded {
  readonly spans: { name: string; traceId: string; spanId: string; parentSpanId?: string }[];
  readonly metrics: string[];
}

/** A project with the packed missive and `sdk`, running test/fixtures/otel-app.mjs; what its SDK recorded. */
async function appWith(name: string, sdk: readonly string[], traceSdk: string): Promise<Recorded> {
  const project = join(dir, name);
  await run("mkdir", ["-p", project]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: `otel-${name}`, private: true, type: "module" }));
  copyFileSync(join(process.cwd(), "test", "fixtures", "otel-app.mjs"), join(project, "otel-app.mjs"));
  // Scripts off: the memory transport needs no native build, and an install script is not what is tested here.
  await run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", tarball, ...sdk], { cwd: project, timeout: 90_000 });
  const { stdout } = await run("node", ["otel-app.mjs", traceSdk], { cwd: project, timeout: 30_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Recorded;
}

function expectOneTrace(recorded: Recorded): void {
  const span = (name: string) => {
    const found = recorded.spans.filter((s) => s.name === name);
    expect(found, name).toHaveLength(1);
    return found[0]!;
  };
  const send = span("send otel.started");
  const processSpan = span("process otel.started");
  const own = span("handler work");
  const followSend = span("send otel.followed");
  const followProcess = span("process otel.followed");
  expect(processSpan.parentSpanId).toBe(send.spanId);
  expect(own.parentSpanId).toBe(processSpan.spanId);
  expect(followSend.parentSpanId).toBe(processSpan.spanId);
  expect(followProcess.parentSpanId).toBe(followSend.spanId);
  for (const s of recorded.spans) expect(s.traceId, s.name).toBe(send.traceId);
  expect(recorded.metrics).toEqual(expect.arrayContaining(["messaging.client.sent.messages", "messaging.client.consumed.messages", "messaging.process.duration"]));
}

beforeAll(async () => {
  ensureBuilt();
  // Scripts off: `prepare` would build again; the test runs after `npm run build`.
  await run("npm", ["pack", "--ignore-scripts", "--pack-destination", dir], { timeout: 60_000 });
  tarball = join(dir, readdirSync(dir).find((f) => f.endsWith(".tgz"))!);
}, 90_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("package - OpenTelemetry", () => {
  it("package - with the SDK 2.x (API 1.9) missive got a nested API copy and recorded nothing: spans and metrics now reach the app's SDK", async () => {
    const [sdk2, sdk3] = await Promise.all([
      appWith("sdk2", ["@opentelemetry/sdk-trace-base@2", "@opentelemetry/sdk-metrics@2", "@opentelemetry/context-async-hooks@2", "@opentelemetry/core@2"], "@opentelemetry/sdk-trace-base"),
      appWith("sdk3", ["@opentelemetry/sdk-trace@3", "@opentelemetry/sdk-metrics@3", "@opentelemetry/context-async-hooks@3", "@opentelemetry/core@3"], "@opentelemetry/sdk-trace"),
    ]);
    expectOneTrace(sdk2);
    expectOneTrace(sdk3);
  }, 120_000);
});
