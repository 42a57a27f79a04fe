import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { ManualClock } from '../../src/clock.ts';
import { importCustomers, type ImportOptions, type ImportSummary } from '../../src/customers/importCustomers.ts';
import type { Database } from '../../src/db/database.ts';
import { AppError } from '../../src/errors.ts';
import { engines, openTestDatabase } from '../support/db.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/customers.csv', import.meta.url));

describe.each(engines)('customer import of messy files on %s', (engine) => {
  let db: Database;
  let dir: string;
  const clock = new ManualClock('2026-11-23T12:00:00Z');
  let fileNo = 0;

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    dir = mkdtempSync(join(tmpdir(), 'smsops-import-'));
  });
  afterAll(async () => {
    await db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `content` to a fresh file and imports it. */
  async function importText(content: string | Buffer, opts: ImportOptions = {}) {
    const file = join(dir, `customers-${++fileNo}.csv`);
    writeFileSync(file, content);
    const summary = await importCustomers({ db, config: { phoneRegion: 'US' }, clock }, file, opts);
    return { file, summary };
  }

  async function customer(phone: string) {
    const { rows } = await db.pool.query('SELECT *, last_visit_at::text AS last_visit FROM customers WHERE phone = $1', [phone]);
    return rows[0];
  }

  async function customerCount(): Promise<number> {
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM customers');
    return rows[0]!.n;
  }

  it('reads a BOM, ";" delimiter, CRLF line ends and quoted newlines, with line numbers right', async () => {
    const text =
      '\uFEFFFull Name;Mobile;Last Visit;Total Spend;Loyalty Tier\r\n' +
      'Ana Ruiz;(415) 555-0240;3/7/2026;"$1.234,50";gold\r\n' +
      '"Bo\r\nLee";415.555.0241;2026-01-02;12;\r\n' +
      'Bad Number;555-1234;;;\r\n';
    const { summary } = await importText(Buffer.from(text, 'utf8'));
    expect(summary).toMatchObject({ delimiter: ';', rows: 3, imported: 2, rejected: 1 });
    expect(summary.rejects).toEqual([{ line: 5, reason: expect.stringContaining('phone: "555-1234" is not a valid number') }]);
    expect(await customer('+14155550240')).toMatchObject({
      name: 'Ana Ruiz',
      total_spend: 1234.5,
      last_visit: '2026-03-07',
      attributes: { 'Loyalty Tier': 'gold' },
    });
    expect(await customer('+14155550241')).toMatchObject({ name: 'Bo Lee', attributes: {} });
  });

  it('reads tab-separated files', async () => {
    const { summary } = await importText('name\tcell\tvisits\tfavourite category\nCy Tab\t(212) 555-0242\t7\tcold brew\n');
    expect(summary).toMatchObject({ delimiter: '\t', imported: 1 });
    expect(await customer('+12125550242')).toMatchObject({ name: 'Cy Tab', visits: 7, favorite_category: 'cold brew' });
  });

  it('keeps the good rows and writes the bad ones, with line and reason, to FILE.rejects.csv', async () => {
    const { file, summary } = await importText(
      [
        'name,phone,visits,email',
        'Good One,(305) 555-0250,2,good@example.com',
        'Too Short,555-0299,1,',
        'UK Landline,+44 20 7946 0958,1,',
        'No Phone,,3,',
        'Bad Visits,(305) 555-0251,-4,',
        'Bad Email,(305) 555-0252,1,not-an-email',
        'Good Two,305.555.0253,5,',
      ].join('\n'),
    );
    expect(summary).toMatchObject({ rows: 7, imported: 2, rejected: 5, rejectsFile: file.replace(/\.csv$/, '.rejects.csv') });
    const rejects = parse(readFileSync(summary.rejectsFile!, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rejects.map((r) => [r.name, r.phone, r.reject_line])).toEqual([
      ['Too Short', '555-0299', '3'],
      ['UK Landline', '+44 20 7946 0958', '4'],
      ['No Phone', '', '5'],
      ['Bad Visits', '(305) 555-0251', '6'],
      ['Bad Email', '(305) 555-0252', '7'],
    ]);
    expect(rejects.map((r) => r.reject_reason)).toEqual([
      expect.stringMatching(/^phone: .*not a valid number/),
      expect.stringMatching(/^phone: .*landline/),
      'phone: phone is empty',
      expect.stringMatching(/^visits: "-4" is not a whole number/),
      expect.stringMatching(/^email: "not-an-email" is not an email address/),
    ]);
    expect(Object.keys(rejects[0]!)).toEqual(['name', 'phone', 'visits', 'email', 'reject_line', 'reject_reason']);
    expect(await customer('+13055550251')).toBeUndefined();
  });

  it('a fixed rejects file imports as it is (its reject columns are ignored), and a clean run removes the stale rejects file', async () => {
    const { file, summary } = await importText('name,phone\nFixable,555-0260\n');
    expect(summary.rejected).toBe(1);
    const fixed = readFileSync(summary.rejectsFile!, 'utf8').replace('555-0260', '(646) 555-0260');
    writeFileSync(file, fixed);
    const again = await importCustomers({ db, config: { phoneRegion: 'US' }, clock }, file);
    expect(again).toMatchObject({ imported: 1, rejected: 0, rejectsFile: null });
    expect((await customer('+16465550260')).attributes).toEqual({});
    expect(existsSync(summary.rejectsFile!)).toBe(false);
  });

  it('folds duplicates within the file into one customer (later values win) and reports them', async () => {
    const { summary } = await importText(
      ['name,phone,visits,tier', 'Dee Dup,(512) 555-0270,1,silver', 'Dee Dupont,512-555-0270,2,', 'Other,(512) 555-0271,1,'].join('\n'),
      { batchSize: 1 },
    );
    expect(summary).toMatchObject({ rows: 3, imported: 2, duplicates: 1, duplicateRows: [{ line: 3, phone: '+1512***0270' }] });
    expect(await customer('+15125550270')).toMatchObject({ name: 'Dee Dupont', visits: 2, attributes: { tier: 'silver' } });
    const inOneBatch = await importText(['name,phone', 'Eve,(512) 555-0272', 'Eve Later,+1 512 555 0272'].join('\n'));
    expect(inOneBatch.summary).toMatchObject({ imported: 1, duplicates: 1 });
    expect(await customer('+15125550272')).toMatchObject({ name: 'Eve Later' });
  });

  it('refuses an empty file with a clear message', async () => {
    for (const content of ['', '\uFEFF', '\n\n  \n']) {
      await expect(importText(content)).rejects.toMatchObject({ code: 'import_empty_file', message: expect.stringContaining('is empty') });
    }
  });

  it('a header without rows imports nothing and says so', async () => {
    const { summary } = await importText('name,phone\n');
    expect(summary).toMatchObject({ rows: 0, imported: 0, rejected: 0 });
  });

  it('refuses a file without a phone column before writing anything, naming the headers it saw', async () => {
    const before = await customerCount();
    const { rows: auditBefore } = await db.pool.query('SELECT count(*)::int AS n FROM audit_log');
    const err = await importText('Name,Email,Visits\nAna,ana@example.com,3\n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'import_no_phone_column' });
    expect((err as Error).message).toContain('Headers found: "Name", "Email", "Visits"');
    expect(await customerCount()).toBe(before);
    const { rows: auditAfter } = await db.pool.query('SELECT count(*)::int AS n FROM audit_log');
    expect(auditAfter[0].n).toBe(auditBefore[0].n);
    expect(existsSync(join(dir, `customers-${fileNo}.rejects.csv`))).toBe(false);
  });

  it('re-importing the same file changes nothing; a changed cell updates one row; empty cells keep stored values', async () => {
    const rows = ['name,phone,visits,last_visit', 'Re One,(918) 555-0280,1,2026-10-01', 'Re Two,(918) 555-0281,2,2026-10-02'];
    const first = await importText(rows.join('\n'));
    expect(first.summary).toMatchObject({ imported: 2, updated: 0, unchanged: 0 });
    const { rows: stamp } = await db.pool.query(`SELECT updated_at FROM customers WHERE phone = '+19185550280'`);
    clock.advance(60_000);
    const again = await importCustomers({ db, config: { phoneRegion: 'US' }, clock }, first.file);
    expect(again).toMatchObject({ imported: 0, updated: 0, unchanged: 2 });
    const { rows: stamp2 } = await db.pool.query(`SELECT updated_at FROM customers WHERE phone = '+19185550280'`);
    expect(stamp2[0].updated_at).toEqual(stamp[0].updated_at);
    const changed = await importText('name,phone,visits,last_visit\nRe One,(918) 555-0280,3,\nRe Two,(918) 555-0281,,\n');
    expect(changed.summary).toMatchObject({ imported: 0, updated: 1, unchanged: 1 });
    expect(await customer('+19185550280')).toMatchObject({ visits: 3 });
    expect((await customer('+19185550280')).last_visit_at).not.toBeNull();
  });

  it('never re-subscribes an opted-out number, even when the file says it consents', async () => {
    await db.pool.query(`INSERT INTO contact_status (phone, status, keyword, source) VALUES ('+14055550290', 'opted_out', 'STOP', 'sms')`);
    const { summary } = await importText('name,phone,sms consent\nStop Sender,(405) 555-0290,yes\n');
    expect(summary).toMatchObject({ imported: 1, optedOut: 1 });
    const again = await importText('name,phone,sms consent\nStop Sender,(405) 555-0290,yes\n');
    expect(again.summary.optedOut).toBe(1);
    const { rows } = await db.pool.query(`SELECT status, keyword, source FROM contact_status WHERE phone = '+14055550290'`);
    expect(rows).toEqual([{ status: 'opted_out', keyword: 'STOP', source: 'sms' }]);
  });

  it('consent changes only when the file states it, and each change is counted and audited', async () => {
    await importText('name,phone,consent\nCon Sent,(303) 555-0295,yes\n');
    expect(await customer('+13035550295')).toMatchObject({ consent_status: 'opted_in', consent_source: expect.stringMatching(/^import:/) });
    const silent = await importText('name,phone,consent\nCon Sent,(303) 555-0295,\n');
    expect(silent.summary).toMatchObject({ unchanged: 1, consent: { granted: 0, withdrawn: 0 } });
    const noColumn = await importText('name,phone\nCon Sent,(303) 555-0295\n');
    expect(noColumn.summary.unchanged).toBe(1);
    expect(await customer('+13035550295')).toMatchObject({ consent_status: 'opted_in' });
    const withdrawn = await importText('name,phone,consent\nCon Sent,(303) 555-0295,no\n', { actor: 'dana' });
    expect(withdrawn.summary).toMatchObject({ updated: 1, consent: { granted: 0, withdrawn: 1 } });
    const c = await customer('+13035550295');
    expect(c.consent_status).toBe('denied');
    const { rows } = await db.pool.query(
      `SELECT actor, surface, before, after FROM audit_log WHERE action = 'customer.consent_imported' AND entity_id = $1`,
      [String(c.id)],
    );
    expect(rows).toEqual([
      { actor: 'dana', surface: 'cli', before: { consent_status: 'opted_in' }, after: { consent_status: 'denied', source: expect.any(String), line: 2 } },
    ]);
  });

  it('an external id already held by another phone is refused, not moved', async () => {
    await importText('customer id,name,phone\nX-1,Ida One,(602) 555-0210\n');
    const { summary } = await importText('customer id,name,phone\nX-1,Ida Two,(602) 555-0211\nX-2,Jo,(602) 555-0212\nX-2,Jo Two,(602) 555-0213\n');
    expect(summary).toMatchObject({ imported: 1, rejected: 2 });
    expect(summary.rejects.map((r) => r.line).sort()).toEqual([2, 4]);
    expect(summary.rejects.find((r) => r.line === 2)?.reason).toContain('already belongs to the customer with phone +1602***0210');
    expect(await customer('+16025550210')).toMatchObject({ external_id: 'X-1', name: 'Ida One' });
  });

  it('hostile text: control characters and bidi overrides are removed, a 5,000-character name is refused', async () => {
    const evil = 'Mal\u0000lory\u0007 \u202Egnp.exe\u202C \u2066Admin\u2069';
    const huge = 'A'.repeat(5000);
    const { summary } = await importText(`name,phone,notes\n"${evil}",(704) 555-0220,"line1\nline2\u0000"\n${huge},(704) 555-0221,\n`);
    expect(summary).toMatchObject({ imported: 1, rejected: 1 });
    expect(summary.rejects[0]).toEqual({ line: 4, reason: 'name: is 5000 characters long (at most 200)' });
    expect(await customer('+17045550220')).toMatchObject({ name: 'Mallory gnp.exe Admin', attributes: { notes: 'line1 line2' } });
    expect(await customer('+17045550221')).toBeUndefined();
  });

  it('imports examples/customers.csv: 64 customers, its deliberately bad rows rejected, the duplicate folded', async () => {
    const summary = await importCustomers({ db, config: { phoneRegion: 'US' }, clock }, EXAMPLE, { rejectsPath: null });
    expect(summary).toMatchObject({ rows: 69, imported: 64, rejected: 4, duplicates: 1, rejectsFile: null });
    expect(summary.rejects.map((r) => r.line)).toEqual([22, 35, 43, 52]);
    const { rows } = await db.pool.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM customers WHERE external_id LIKE 'C-%' GROUP BY state ORDER BY state`,
    );
    expect(rows.map((r) => r.state)).toEqual(expect.arrayContaining(['FL', 'OK']));
    expect(await customer('+14155550105')).toMatchObject({ name: 'Jamal Carter', visits: 16 });
  });

  // Nothing lost: every row ends up in the database or, with its cells and a reason, in the rejects file.

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
