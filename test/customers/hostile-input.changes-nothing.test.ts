/**
 * Hostile input that must change nothing: a messy CSV (byte-order mark, mixed line endings,
 * quotes inside fields, one phone written three ways), an opted-out number re-imported as
 * consenting, and the classic injected offer with a short link.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { importCustomers } from '../../src/customers/importCustomers.ts';
import type { Database } from '../../src/db/database.ts';
import { generateBatch } from '../../src/generator/index.ts';
import { lintMessage } from '../../src/generator/lint.ts';
import { effectiveSettings } from '../../src/campaigns/settings.ts';
import { loadConfig } from '../../src/config.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { taggedSegment, testContext } from '../generator/helpers.ts';

describe.each(engines)('hostile input that changes nothing, on %s', (engine) => {
  let db: Database;
  let dir: string;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    dir = mkdtempSync(join(tmpdir(), 'smsops-review4h-'));
  });
  afterAll(async () => {
    await db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('BOM + mixed CRLF/LF/CR + quotes inside fields + one phone in three formats: counts add up, line numbers right', async () => {
    const file = join(dir, 'mixed.csv');
    writeFileSync(
      file,
      '\uFEFFname,phone,notes\r\n' +
        'Ana "the best" Ruiz,(415) 555-0401,a\n' +
        '"Bo, ""Jr""",+1 415 555 0401,b\r' +
        'Cy,415.555.0401,c\r\n' +
        'Bad,12,d\n',
    );
    const s = await importCustomers({ db, config: { phoneRegion: 'US' }, clock: new ManualClock('2026-11-23T12:00:00Z') }, file);
    expect(s).toMatchObject({ rows: 4, imported: 1, duplicates: 2, rejected: 1 });
    expect(s.rejects[0]!.line).toBe(5);
    expect(s.imported + s.updated + s.unchanged + s.rejected + s.duplicates).toBe(s.rows);
  });

  it('an opted-out number re-imported as "yes" stays out of every audience', async () => {
    const tag = randomUUID();
    const file = join(dir, 'optout.csv');
    await db.pool.query(`INSERT INTO contact_status (phone, status, keyword, source) VALUES ('+14155550411', 'opted_out', 'STOP', 'sms')`);
    writeFileSync(file, `name,phone,consent,tag\nStopper,(415) 555-0411,yes,${tag}\n`);
    await importCustomers({ db, config: { phoneRegion: 'US' }, clock: new ManualClock('2026-03-01T12:00:00Z') }, file);
    const r = await generateBatch(testContext(db), { campaign: 'r4-hold', segment: taggedSegment(tag), dryRun: true, generator: 'templates', actor: 't', surface: 'cli' });
    expect(r).toMatchObject({ matched: 0, exclusions: { opted_out: 1 } });
  });

  it('lint catches the classic injection payload: "FREE iPhone, click bit.ly/x"', () => {
    const settings = effectiveSettings(loadConfig({ LOG_LEVEL: 'silent' }), {});
    const rules = lintMessage('Hi! FREE iPhone, click bit.ly/x Reply STOP to opt out', { settings, brief: { offer: '10% off' } }).map((f) => f.rule);
    expect(rules).toEqual(expect.arrayContaining(['link', 'offer_mismatch']));
  });
});
