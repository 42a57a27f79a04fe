/** Parsers for the numeric command-line options: each refusal names the range and an example. */
import { InvalidArgumentError } from 'commander';

/** A commander option parser for a number from `min` to `max` (whole unless `fraction`). */
export function numberOption(r: { min: number; max: number; example: string; fraction?: boolean }): (value: string) => number {
  // Plain decimal digits only: Number() would also take '0x10', '1e3', ' 5 ' and '-0'.
  const shape = r.fraction ? /^\d+(\.\d+)?$/ : /^\d+$/;
  return (value) => {
    const n = Number(value);
    const kind = r.fraction ? 'a number' : 'a whole number';
    if (!shape.test(value) || n < r.min || n > r.max) {
      throw new InvalidArgumentError(`It must be ${kind} from ${r.min} to ${r.max} (example: ${r.example}).`);
    }
    return n;
  };
}
