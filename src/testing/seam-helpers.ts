/** Small helpers the seam suite's tests share: messages that carry their id as body, receiving, waiting. */
import { expect } from "vitest";
import { emptyHeaders, type WireMessage } from "../envelope/wire.js";
import type { ErrorCode } from "../errors.js";
import type { Delivery, OutgoingMessage, Subscription } from "../transport/transport.js";

export function wire(body: string | Uint8Array, headers: Record<string, string>): WireMessage {
  return { headers: Object.assign(emptyHeaders(), headers), body: typeof body === "string" ? Buffer.from(body) : body };
}

/** A message whose id is also its body, so a test can read what it got. */
export function message(topic: string, id: string, key?: string, extra: Partial<OutgoingMessage> = {}): OutgoingMessage {
  const headers: Record<string, string> = { "ce-id": id, "ce-type": topic };
  if (key !== undefined) headers["ce-key"] = key;
  return { topic, id, key, wire: wire(id, headers), ...extra };
}

export function bodyOf(delivery: Delivery): string {
  return Buffer.from(delivery.wire.body).toString("utf8");
}

export function bodies(deliveries: readonly Delivery[]): string[] {
  return deliveries.map(bodyOf);
}

/** Receive until `count` deliveries arrived or `waitMs` passed. */
export async function receiveAtLeast(subscription: Subscription, count: number, waitMs = 10_000): Promise<Delivery[]> {
  const deadline = Date.now() + waitMs;
  const out: Delivery[] = [];
  while (out.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    out.push(...(await subscription.receive(count - out.length, left)));
  }
  return out;
}

/** Receive exactly `count`: fails when fewer arrive within `waitMs`. */
export async function receiveExactly(subscription: Subscription, count: number, waitMs = 10_000): Promise<Delivery[]> {
  const got = await receiveAtLeast(subscription, count, waitMs);
  expect(bodies(got), `expected ${count} deliveries within ${waitMs} ms`).toHaveLength(count);
  return got;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `condition` until it holds, or fail after `timeoutMs` saying what was awaited. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Expect `promise` to reject with a missive error of `code`. By code, not
 * class: a transport built against another copy of missive throws another
 * copy of the class, with the same code.
 */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const outcome = await promise.then((value: unknown) => ({ value }), (error: unknown) => ({ error }));
  expect(outcome, `expected a rejection with ${code}`).toHaveProperty("error");
  expect((outcome as { error: unknown }).error).toMatchObject({ code });
}

/** The headers without prototype quirks, for toEqual. */
export function plainHeaders(delivery: { readonly wire: WireMessage }): Record<string, string> {
  return { ...delivery.wire.headers };
}
