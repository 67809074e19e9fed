import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp } from "../../src/cli/cleanup.js";

describe("cli cleanup", () => {
  afterEach(() => vi.restoreAllMocks());

  it("a failed cleanup is said on stderr as a warning, and does not throw over the command's own outcome", async () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    await expect(cleanUp("closing the transport", () => Promise.reject(new Error("socket hang up")))).resolves.toBeUndefined();
    expect(written).toEqual(["warning: closing the transport failed: socket hang up\n"]);
  });

  it("a cleanup that works says nothing", async () => {
    const write = vi.spyOn(process.stderr, "write");
    let closed = false;
    await cleanUp("closing the transport", async () => {
      closed = true;
    });
    expect(closed).toBe(true);
    expect(write).not.toHaveBeenCalled();
  });
});
