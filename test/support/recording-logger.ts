/** A Logger that keeps every line, so a test can assert what was logged and at which level. */
import type { Logger } from "../../src/observability/logger.js";

export interface LogLine {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

export interface RecordingLogger extends Logger {
  readonly lines: LogLine[];
  /** Lines at `level` whose message contains `text`. */
  at(level: LogLine["level"], text?: string): LogLine[];
}

export function recordingLogger(): RecordingLogger {
  const lines: LogLine[] = [];
  const add = (level: LogLine["level"]) => (obj: object, msg = ""): void => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return {
    lines,
    debug: add("debug"),
    info: add("info"),
    warn: add("warn"),
    error: add("error"),
    at: (level, text) => lines.filter((l) => l.level === level && (text === undefined || l.msg.includes(text))),
  };
}
