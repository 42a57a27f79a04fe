/**
 * The CSV import must lose nothing. Every row of the file ends up either in the
 * database or, with its original cells and a reason, in FILE.rejects.csv, and the summary's
 * counts add up to the rows of the file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { ManualClock } from '../../src/clock.ts';
import { importCustomers, type ImportOptions, type ImportSummary } from '../../src/customers/importCustomers.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';

describe.each(engines)('import loses nothing on %s', (engine) => {
  let db: Database;
  let dir: string;
  const clock = new ManualClock('2026-11-23T12:00:00Z');
  let fileNo = 0;

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    dir = mkdtempSync(join(tmpdir(), 'smsops-nothing-lost-'));
  });
  afterAll(async () => {
    await db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function importText(content: string | Buffer, opts: ImportOptions = {}) {
    const file = join(dir, `customers-${++fileNo}.csv`);
    writeFileSync(file, content);
    const summary = await importCustomers({ db, config: { phoneRegion: 'US' }, clock }, file, opts);
    return { file, summary };
  }

  async function customer(phone: string) {
    const { rows } = await db.pool.query('SELECT * FROM customers WHERE phone = $1', [phone]);
    return rows[0];
  }

  function rejectRows(summary: ImportSummary): Record<string, string>[] {
    if (!summary.rejectsFile) return [];
    return parse(readFileSync(summary.rejectsFile, 'utf8'), { columns: true, relax_column_count: true }) as Record<string, string>[];
  }

  const accounted = (s: ImportSummary) => s.imported + s.updated + s.unchanged + s.rejected + s.duplicates;

  it('a record over the size limit is written to the rejects file with its cells (its phone is not lost)', async () => {
    const notes = 'x'.repeat(1_100_000);
    const { summary } = await importText(`name,phone,notes\nAna,(415) 555-0301,short\nBig Notes,(415) 555-0302,${notes}\nCy,(415) 555-0303,ok\n`);
    expect(summary.rejected).toBe(1);
    const rejects = rejectRows(summary);
    expect(rejects).toHaveLength(1);
    // The customer's phone (the key) must survive in the rejects file so the row can be fixed and re-imported.
    expect(rejects[0]!.phone).toBe('(415) 555-0302');
  });

  it('counts add up when a record is refused by the CSV reader (imported + updated + unchanged + rejected + duplicates = rows)', async () => {
    const notes = 'x'.repeat(1_100_000);
    const { summary } = await importText(`name,phone,notes\nAna,(415) 555-0311,short\nBig Notes,(415) 555-0312,${notes}\nCy,(415) 555-0313,ok\n`);
    expect(summary).toMatchObject({ imported: 2, rejected: 1 });
    expect(accounted(summary)).toBe(summary.rows);
  });

  it('a quote never closed near the end: the rows it swallows are not silently dropped', async () => {
    const { summary } = await importText(
      ['name,phone', 'Ana,(415) 555-0321', 'Bo,"(415) 555-0322', 'Cy,(415) 555-0323', 'Dee,(415) 555-0324', ''].join('\n'),
    );
    expect(await customer('+14155550321')).toBeDefined();
    // Cy and Dee are perfectly good rows. Either they are imported, or each is in the rejects file
    // with its cells, so the manager can fix and re-import them.
    const rejects = rejectRows(summary);
    for (const phone of ['+14155550323', '+14155550324']) {
      const local = `(415) 555-0${phone.slice(-3)}`;
      const imported = (await customer(phone)) !== undefined;
      const inRejects = rejects.some((r) => Object.values(r).some((v) => v.includes(local)));
      expect({ phone, imported, inRejects }).toEqual({ phone, imported: expect.any(Boolean), inRejects: !imported });
    }
  });

  it('a duplicate folded into an earlier row, then refused, keeps the earlier row (not imported, not in rejects)', async () => {
    // Stored: phone 0332 holds external id OWNED.
    await importText('customer id,name,phone\nOWNED,Owner,(415) 555-0332\n');
    // Line 2 is a valid row for 0331 (its own id). Line 3 repeats 0331 with an id that belongs to 0332.
    const { summary } = await importText('customer id,name,phone\nOWN-331,Valid Row,(415) 555-0331\nOWNED,Conflicting Repeat,(415) 555-0331\n');
    expect(summary.rejected).toBe(1);
    const rejects = rejectRows(summary);
    // Line 2 did nothing wrong: it must be imported, or at least be in the rejects file.
    const imported = (await customer('+14155550331')) !== undefined;
    const line2InRejects = rejects.some((r) => r.reject_line === '2' || r.name === 'Valid Row');
    expect(imported || line2InRejects).toBe(true);
  });

  it('a later duplicate refused for its external id is not counted twice (duplicate and rejected)', async () => {
    await importText('customer id,name,phone\nTAKEN-341,Owner,(415) 555-0342\n');
    const { summary } = await importText('customer id,name,phone\nOWN-341,First,(415) 555-0341\nTAKEN-341,Repeat,(415) 555-0341\n', { batchSize: 1 });
    expect(summary.rows).toBe(2);
    expect(accounted(summary)).toBe(summary.rows);
  });
});
