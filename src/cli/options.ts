/** Parsers for the numeric command-line options: each refusal names the range and an example. */
import { InvalidArgumentError } from 'commander';

/** A commander option parser for a number from `min` to `max` (whole unless `fraction`). */
export function numberOption(r: { min: number; max: number; example: string; fraction?: boolean }): (value: string) => number {
  return (value) => {
    const n = Number(value);
    const kind = r.fraction ? 'a number' : 'a whole number';
    if (value.trim() === '' || !Number.isFinite(n) || (!r.fraction && !Number.isInteger(n)) || n < r.min || n > r.max) {
      throw new InvalidArgumentError(`It must be ${kind} from ${r.min} to ${r.max} (example: ${r.example}).`);
    }
    return n;
  };
}
