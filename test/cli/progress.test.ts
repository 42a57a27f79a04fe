/** The CLI's progress line: off unless asked for, throttled redraws of one line, cleared at the end. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bar, progressLine } from '../../src/cli/progress.ts';

describe('progress line', () => {
  afterEach(() => vi.restoreAllMocks());

  it('draws nothing when off (not a terminal, or --json)', () => {
    expect(progressLine(false)).toBeUndefined();
  });

  it('redraws one line at most every 250 ms and clears it at the end', () => {
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true));
    let now = 1_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const line = progressLine(true)!;
    line.show('a');
    line.show('b'); // same instant: skipped
    now += 250;
    line.show('c');
    line.clear();
    expect(writes).toEqual(['\r\x1b[Ka', '\r\x1b[Kc', '\r\x1b[K']);
  });

  it('clears nothing when nothing was drawn', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    progressLine(true)!.clear();
    expect(write).not.toHaveBeenCalled();
  });

  it('draws a bar of done out of total', () => {
    expect(bar(0, 40, 10)).toBe('[----------] 0/40');
    expect(bar(20, 40, 10)).toBe('[#####-----] 20/40');
    expect(bar(40, 40, 10)).toBe('[##########] 40/40');
    expect(bar(0, 0, 4)).toBe('[----] 0/0');
  });
});
