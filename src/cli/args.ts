/** Parsers for option values: a bad value is a usage error commander reports (exit 2). */
import { InvalidArgumentError } from "commander";

export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

export function secondsAtLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > 86_400) throw new InvalidArgumentError(`expected a number of seconds from ${min} to 86400.`);
    return n;
  };
}
