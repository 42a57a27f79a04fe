/**
 * The record-size guard in front of the CSV parser: a record over the limit is reported once
 * and dropped, and every record after it reaches the parser intact, with its line number,
 * wherever the file's chunks happen to split it (quotes, "" escapes and quoted line breaks
 * across chunk boundaries).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordSizeGuard, type CsvSkip, type Delimiter } from '../../src/customers/csvSource.ts';

const MAX = 200;

/** Feeds `text` to the guard in the given chunk sizes, then parses what comes out. */
async function guarded(text: string, cuts: number[], delimiter: Delimiter = ','): Promise<{ records: { record: string[]; line: number }[]; skips: CsvSkip[] }> {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  let at = 0;
  for (const cut of cuts) {
    if (at >= bytes.length) break;
    chunks.push(bytes.subarray(at, at + cut));
    at += cut;
  }
  if (at < bytes.length) chunks.push(bytes.subarray(at));
  const skips: CsvSkip[] = [];
  const records: { record: string[]; line: number }[] = [];
  // The product's parser options (csvSource.readCsv), minus the guard's own backstop.
  const parser = parse({ delimiter, info: true, relax_quotes: true, relax_column_count: true, skip_empty_lines: true });
  parser.on('data', ({ record, info }: { record: string[]; info: { lines: number } }) => {
    const breaks = record.join('').split('\n').length - 1;
    records.push({ record, line: info.lines - breaks });
  });
  await pipeline(Readable.from(chunks), recordSizeGuard(delimiter, MAX, (s) => skips.push(s)), parser);
  return { records, skips };
}

/** A CSV field: plain, or quoted with "" escapes, delimiters and line breaks inside. */
const field = fc.oneof(
  fc.stringMatching(/^[a-z0-9 ]{0,12}$/),
  fc.array(fc.constantFrom('a', 'b', ',', '\n', '""', ' ', 'é'), { maxLength: 12 }).map((parts) => `"${parts.join('')}"`),
);
const small = fc.array(field, { minLength: 1, maxLength: 4 }).map((fields) => fields.join(','));
/** A record far over the limit: one long quoted field with quotes and line breaks in it. */
const big = fc.integer({ min: 3 * MAX, max: 6 * MAX }).map((n) => `x,"${'ab""c\n,'.repeat(n / 7)}",y`);

describe('record size guard', () => {
  it('keeps every record under the limit, drops each one over it once, in any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ weight: 4, arbitrary: small }, { weight: 1, arbitrary: big }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 200 }),
        async (rows, cuts) => {
          const text = rows.join('\n') + '\n';
          const { records, skips } = await guarded(text, cuts);
          let line = 1;
          const expected: { record: string[]; line: number }[] = [];
          const expectedSkips: number[] = [];
          for (const row of rows) {
            const parsed = parseSync(row + '\n', { relax_quotes: true, relax_column_count: true }) as string[][];
            if (Buffer.byteLength(row) > MAX) expectedSkips.push(line);
            else if (row !== '') expected.push({ record: parsed[0]!, line }); // empty lines are skipped
            line += row.split('\n').length;
          }
          expect(skips.map((s) => s.line)).toEqual(expectedSkips);
          expect(records).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a quote never closed: reported once from its line; the records before it are kept', async () => {
    const { records, skips } = await guarded(`name,phone\nAna,+14155550100\nBo,"+1415555${'9'.repeat(MAX)}\nCy,+14155550102\n`, [7, 13]);
    expect(records.map((r) => r.record[0])).toEqual(['name', 'Ana']);
    expect(skips).toEqual([{ line: 3, raw: expect.stringMatching(/^Bo,"\+1415555/), reason: expect.stringMatching(/longer than 200 bytes \(is a quote never closed\?\)/) }]);
  });

  it('semicolon files: a quote opens a field only after the file\'s own delimiter', async () => {
    const { records, skips } = await guarded('a;"b;c"\nx,"y;z\n', [3], ';');
    expect(skips).toEqual([]);
    expect(records.map((r) => r.record)).toEqual([['a', 'b;c'], ['x,"y', 'z']]);
  });
});
