import { describe, expect, it } from "vitest";
import { ConfigurationError, registerTransport, resolveTransport, type TransportRegistration } from "../../src/index.js";
import { memoryTransport } from "../../src/transports/memory/index.js";

const fake = (name: string, schemes: string[]): TransportRegistration => ({
  name,
  schemes,
  open: async () => ({ transport: memoryTransport() }),
});

describe("transport registry", () => {
  it("registry - a registered scheme opens through its registration, case-insensitively", async () => {
    let opened = "";
    registerTransport({ ...fake("outside", ["registry-test"]), open: async (url) => {
      opened = url;
      return { transport: memoryTransport() };
    } });
    const { transport } = await resolveTransport("REGISTRY-TEST://somewhere");
    expect(opened).toBe("REGISTRY-TEST://somewhere");
    expect(transport.name).toBe("memory");
  });

  it("registry - the shipped transports are registered by the package entry, and an unknown scheme names them", async () => {
    const err = await resolveTransport("nope://x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    for (const scheme of ["amqp://", "amqps://", "memory://", "sqlite://"]) expect((err as Error).message).toContain(scheme);
  });

  it("registry - a scheme taken by another transport is refused; the same registration again is a no-op", () => {
    const first = fake("first", ["registry-taken"]);
    registerTransport(first);
    registerTransport(first);
    expect(() => registerTransport(fake("second", ["registry-taken"]))).toThrow(/already registered by the first transport/);
    expect(() => registerTransport(fake("bad", ["Has://"]))).toThrow(ConfigurationError);
  });
});
