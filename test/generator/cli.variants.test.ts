import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignVariant } from '../../src/analytics/variants.ts';
import { runSmsops, seededDataDir, withDataDir } from '../support/cli.ts';
import { insertCustomer } from '../support/fixtures.ts';

/** `smsops generate --variant ...` as a user runs it, on an embedded database in a temporary folder. */
describe('smsops generate --variant', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await seededDataDir('smsops-variants-', async (db) => {
      for (let i = 0; i < 30; i++) await insertCustomer(db.pool, { name: `Pat${i} Doe`, lastVisit: '2026-08-01' });
    });
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const smsops = (...args: string[]) => runSmsops(dataDir, args);

  it('starts a campaign with A/B arms: each message is written from its arm, and the arms are kept with the campaign', async () => {
    const { stdout } = await smsops(
      'generate', '--campaign', 'Spring AB', '--segment', 'all', '--generator', 'templates', '--json',
      '--brief', 'Win back regulars. offer: 10% off any drink; brand: Bean There',
      '--variant', 'A', '--variant', 'B: offer: a free pastry',
    );
    expect(JSON.parse(stdout)).toMatchObject({ suggestions: 30, variants: ['A', 'B'] });

    await withDataDir(dataDir, async (db) => {
      const { rows: [campaign] } = await db.pool.query('SELECT seed, brief FROM campaigns WHERE name = $1', ['Spring AB']);
      expect(campaign.brief).toEqual({ goal: 'Win back regulars', offer: '10% off any drink', brand: 'Bean There', variants: [{ name: 'A' }, { name: 'B', offer: 'a free pastry' }] });
      const { rows } = await db.pool.query<{ phone: string; variant: string; body: string }>('SELECT phone, variant, body FROM campaign_messages');
      expect(rows).toHaveLength(30);
      for (const m of rows) {
        expect(m.variant).toBe(assignVariant(campaign.seed, m.phone, ['A', 'B']));
        expect(m.body).toContain(m.variant === 'B' ? 'a free pastry' : '10% off any drink');
      }
      expect(new Set(rows.map((m) => m.variant))).toEqual(new Set(['A', 'B']));
    });
  });

  it('refuses other arms for a campaign that has messages, and a single arm, saying what to do', async () => {
    await expect(smsops('generate', '--campaign', 'Spring AB', '--segment', 'all', '--generator', 'templates', '--variant', 'A', '--variant', 'C: offer: 2 for 1')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/already has 30 messages, so its A\/B variants cannot change.*--campaign "Spring AB \(A\/B\)"/),
    });
    await expect(smsops('generate', '--campaign', 'Solo', '--segment', 'all', '--variant', 'A', '--dry-run')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/variants are invalid.*2 items?/i),
    });
  });
});
