/** Redis error replies are told apart by their first word (`BUSYGROUP`, `NOGROUP`), the server's stable code. */
export function isReply(err: unknown, code: string): boolean {
  return err instanceof Error && err.message.startsWith(`${code} `);
}
