/**
 * Numeric command-line options, through the real `smsops`: a bad value is refused before
 * anything runs, with the option, the allowed range and an example.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSmsops } from '../support/cli.ts';

describe('numeric options', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smsops-cli-options-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it.each([
    [['demo', '--speed', '0'], /--speed <factor>.*must be a number from 1 to 3600 \(example: --speed 30\)/],
    [['import', 'customers', 'x.csv', '--batch-size', '20000'], /--batch-size <n>.*must be a whole number from 1 to 10000 \(example: --batch-size 1000\)/],
    [['generate', '--campaign', 'c', '--segment', 'all', '--limit', 'ten'], /--limit <n>.*must be a whole number from 1 to 1000000 \(example: --limit 50\)/],
    [['generate', '--campaign', 'c', '--segment', 'all', '--seed', '1.5'], /--seed <n>.*must be a whole number from 0 to 2147483647/],
    [['preview', '--campaign', 'c', '--max-lines', ''], /--max-lines <n>.*must be a whole number from 1 to 1000000/],
    [['preview', '--campaign', 'c', '--max-lines', '0x10'], /--max-lines <n>.*must be a whole number/],
    [['generate', '--campaign', 'c', '--segment', 'all', '--limit', '1e3'], /--limit <n>.*must be a whole number/],
    [['report', '--campaign', 'c', '--window', '91'], /--window <days>.*must be a number from 0.01 to 90 \(example: --window 7\)/],
  ])('smsops %j is refused', async (args, message) => {
    const r = await runSmsops(dataDir, args).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(r, 'the command should fail').not.toBeNull();
    expect(r!.code).not.toBe(0);
    expect(r!.stderr).toMatch(message);
    // Refused before anything ran: the embedded database (SMSOPS_DATA_DIR) was never opened.
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
