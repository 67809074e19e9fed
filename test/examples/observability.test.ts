import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.js";

describe("examples - observability", () => {
  it("observability - a Prometheus scrape shows the backlog per group, then an empty queue with its dead letter", async () => {
    const stdout = await runExample("observability");
    expect(stdout).toMatch(/backlog: missive_queue_depth\{[^}]*messaging_consumer_group_name="billing"[^}]*\} 5/);
    expect(stdout).toMatch(/backlog: missive_queue_ready\{[^}]*\} 5/);
    expect(stdout).toContain("backlog: the oldest message is waiting");
    expect(stdout).toMatch(/handled: missive_queue_depth\{[^}]*\} 0/);
    expect(stdout).toMatch(/handled: missive_queue_dead_letters\{[^}]*\} 1/);
    expect(stdout).toMatch(/handled: missive_consumer_dead_lettered_messages_total\{[^}]*missive_dead_letter_reason="permanent"[^}]*\} 1/);
    expect(stdout).toContain("observability example finished");
  }, 90_000);
});
