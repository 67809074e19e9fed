import { describe, expect, it } from "vitest";
import { fromAmqpProperties } from "../../src/transports/rabbitmq/amqp-headers.js";

describe("rabbitmq amqp headers", () => {
  it("rabbitmq - header names read the same on every message, in any case, past the bound of remembered names", () => {
    // More distinct names than are remembered: the ones past the bound take the slow path and read the same.
    for (let i = 0; i < 1500; i++) {
      const { headers } = fromAmqpProperties({ headers: { [`X-Made-Up-${i}`]: i, cloudEvents_id: `m${i}` } });
      expect({ ...headers }).toEqual({ [`x-made-up-${i}`]: String(i), "ce-id": `m${i}` });
    }
    for (let round = 0; round < 2; round++) {
      const got = fromAmqpProperties({
        contentType: "application/json",
        headers: {
          CloudEvents_ID: "a", "cloudevents:type": "t", "X-Death": [{ count: 1 }], "X-Delivery-Count": 3, "X-Missive-Attempts": 2,
          "x-missive-private": "p", ["__proto__"]: "p", nothing: null, undef: undefined, buf: Buffer.from("żółw"),
        },
      });
      expect(got.deliveryCount).toBe(3);
      expect(got.carriedAttempts).toBe(2);
      expect(Object.getPrototypeOf(got.headers)).toBe(null);
      // __proto__ is an ordinary own header of a null-prototype record.
      expect({ ...got.headers }).toEqual({ "ce-id": "a", "ce-type": "t", buf: "żółw", ["__proto__"]: "p", "content-type": "application/json" });
    }
    expect(({} as Record<string, unknown>)["p"]).toBeUndefined();
  });
});
