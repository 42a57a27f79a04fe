/**
 * `smsops preview --campaign NAME` as a user runs it, on an embedded database in a
 * temporary folder: the schedule of a known campaign, a clear failure for an unknown one.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSmsops, seededDataDir, withDataDir } from '../support/cli.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';


describe('smsops preview on the command line', () => {
  let dataDir: string;
  let before: string;
  beforeAll(async () => {
    dataDir = await seededDataDir('smsops-preview-', async (db) => {
      const id = await insertCampaign(db.pool, { name: 'Fall Winback' });
      // Stored slots far in the future: what the preview shows does not depend on today.
      const slots = ['2031-11-08T22:42:00Z', '2031-11-08T22:48:00Z', '2031-11-08T23:05:00Z'];
      for (const [i, at] of slots.entries()) {
        const c = await insertCustomer(db.pool, { name: ['Andrew Thompson', 'Maria Lopez', 'Kim'][i], phone: `+1408555971${i}`, timezone: 'America/Los_Angeles' });
        await insertMessage(db.pool, { campaignId: id, status: 'approved', phone: c.phone, customerId: c.id, scheduledAt: new Date(at) });
      }
      before = JSON.stringify((await db.pool.query('SELECT * FROM campaign_messages ORDER BY id')).rows);
    });
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const smsops = (...args: string[]) => runSmsops(dataDir, args);

  it('prints the schedule, one line a message, and changes nothing', async () => {
    const { stdout } = await smsops('preview', '--campaign', 'fall winback');
    expect(stdout.split('\n').slice(0, 4)).toEqual([
      'Schedule of "Fall Winback" (active, times in America/Los_Angeles)',
      '[1/3] Andrew T. | +1408***9710 | 11/08 02:42 PM | first | 1 segment',
      '[2/3] Maria L. | +1408***9711 | 11/08 02:48 PM | +6m | 1 segment',
      '[3/3] Kim | +1408***9712 | 11/08 03:05 PM | +17m (pause) | 1 segment',
    ]);
    expect(stdout).toContain('First send: 11/08 02:42 PM   Last send: 11/08 03:05 PM   Duration: 23m   Pauses: 1');
    expect(stdout).toContain('Estimated completion: 11/08 03:05 PM\n');
    await withDataDir(dataDir, async (db) => {
      expect(JSON.stringify((await db.pool.query('SELECT * FROM campaign_messages ORDER BY id')).rows)).toBe(before);
    });
  });

  it('an unknown campaign fails with a message that says what to do', async () => {
    await expect(smsops('preview', '--campaign', 'Spring Launch')).rejects.toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'smsops: No campaign named "Spring Launch". Run smsops status to list them.\n',
    });
  });
});
