/**
 * The logging port: pino-compatible (`logger.warn(obj, msg)`), no-op by
 * default. missive never writes to the console on its own.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

export const noopLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
