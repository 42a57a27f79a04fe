import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSmsops, seededDataDir } from '../support/cli.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { DAY, HOUR, seedBatch, seedInbound, seedMessage } from './seed.ts';

const SENT = new Date(Date.now() - 2 * DAY);

/** `smsops report ...` as a user runs it, on an embedded database in a temporary folder. */
describe('smsops report on the command line', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await seededDataDir('smsops-report-', async (db) => {
      const id = await insertCampaign(db.pool, { name: 'cli-report' });
      const batch = await seedBatch(db.pool, id, 'lapsed:60');
      await seedMessage(db.pool, { campaignId: id, batchId: batch, phone: '+14158001001', status: 'delivered', approvedAt: SENT, sentAt: SENT, segments: 2 });
      await seedMessage(db.pool, { campaignId: id, batchId: batch, phone: '+14158001002', status: 'sent', approvedAt: SENT, sentAt: SENT });
      await seedMessage(db.pool, { campaignId: id, batchId: batch, phone: '+14158001003', status: 'rejected' });
      await seedInbound(db.pool, { phone: '+14158001001', at: new Date(SENT.getTime() + HOUR) });
    });
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const smsops = (...args: string[]) => runSmsops(dataDir, args);

  it('--json prints the whole report', async () => {
    const { stdout } = await smsops('report', '--campaign', 'CLI-Report', '--json');
    const r = JSON.parse(stdout);
    expect(r.campaign).toMatchObject({ name: 'cli-report', status: 'active' });
    expect(r.attributionWindowDays).toBe(7);
    expect(r.totals).toMatchObject({ suggested: 3, approved: 2, rejected: 1, sent: 2, delivered: 1, replied: 1, segments: 3 });
    expect(r.totals.rates).toEqual({ approval: 2 / 3, edit: 0, delivery: 0.5, response: 0.5, optOut: 0 });
    expect(r.batches).toHaveLength(1);
  });

  // (Each run boots the embedded database: the CSV and text formats are pinned in report.rates.test.ts.)
  it('contradictory options fail with a message that says what to do', async () => {
    await expect(smsops('report', '--campaign', 'cli-report', '--json', '--csv')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('Choose one of --json and --csv.'),
    });
  });
});
