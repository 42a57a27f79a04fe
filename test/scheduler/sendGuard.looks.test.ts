/**
 * The last look's sharing rule, counted at the database: calls that ask in the same turn share
 * one look (of just their numbers), and a call never gets a look that began before it asked
 * (a STOP committed while that look was in flight would be missed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Queryable } from '../../src/db/database.ts';
import { setContactStatus } from '../../src/db/queries/contactStatus.ts';
import { SendGuard } from '../../src/scheduler/sendGuard.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, nextPhone } from '../support/fixtures.ts';

describe.each(engines)('send guard looks on %s', (engine) => {
  let db: Database;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(() => db?.close());

  /** The real pool, counting its queries; `hold` keeps each answer (already read) until released. */
  function counting(hold = false) {
    const looks: { phones: unknown; release: () => void }[] = [];
    const q: Queryable = {
      query: (async (text: string, values?: unknown[]) => {
        const answer = await db.pool.query(text, values);
        let release = () => undefined as void;
        const held = hold ? new Promise<void>((r) => (release = r)) : Promise.resolve();
        looks.push({ phones: values?.[0], release });
        await held;
        return answer;
      }) as unknown as Queryable['query'],
    };
    return { q, looks };
  }

  async function batch(size: number) {
    const campaignId = await insertCampaign(db.pool, { name: `guard${++n}-${engine}` });
    return Array.from({ length: size }, () => ({ phone: nextPhone(), campaignId }));
  }

  it('answers every call that asks in the same turn with one look', async () => {
    const messages = await batch(16);
    const { q, looks } = counting();
    const guard = new SendGuard(q);
    const verdicts = await Promise.all(messages.map((m) => guard.verdict(m, true)));
    expect(verdicts).toEqual(messages.map(() => 'go'));
    expect(looks).toHaveLength(1);
    // A later wave gets a look of its own, which reads just its numbers.
    expect(await Promise.all(messages.slice(0, 4).map((m) => guard.verdict(m, false)))).toEqual(['go', 'go', 'go', 'go']);
    expect(looks.map((l) => (l.phones as string[]).length)).toEqual([16, 4]);
  });

  it('gives a call that asked while a look was in flight the next look, which sees a STOP committed meanwhile', async () => {
    const [early, late] = await batch(2);
    const { q, looks } = counting(true);
    const guard = new SendGuard(q);
    const first = guard.verdict(early!, true);
    while (looks.length === 0) await new Promise((r) => setTimeout(r, 5));
    // The first look has read the database; the STOP commits after it, before the second call asks.
    await setContactStatus(db.pool, { phone: late!.phone, status: 'opted_out', keyword: 'STOP', source: 'sms', at: new Date() });
    const second = guard.verdict(late!, true);
    looks[0]!.release();
    expect(await first).toBe('go');
    while (looks.length === 1) await new Promise((r) => setTimeout(r, 5));
    looks[1]!.release();
    expect(await second).toBe('opted_out');
    expect(looks).toHaveLength(2);
  });

  it('stops a later bubble only for an opt-out, a first bubble also for a paused campaign or a test mode', async () => {
    const [m, testNumber] = await batch(2);
    const { q } = counting();
    await db.pool.query(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, [m!.campaignId]);
    expect(await new SendGuard(q).verdict(m!, true)).toBe('not_sending');
    expect(await new SendGuard(q).verdict(m!, false)).toBe('go');
    await db.pool.query(`UPDATE campaigns SET status = 'active', test_mode = true, test_numbers = $2 WHERE id = $1`, [m!.campaignId, [testNumber!.phone]]);
    const guard = new SendGuard(q);
    expect(await Promise.all([guard.verdict(m!, true), guard.verdict(testNumber!, true)])).toEqual(['not_sending', 'go']);
    await setContactStatus(db.pool, { phone: m!.phone, status: 'opted_out', keyword: 'STOP', source: 'sms', at: new Date() });
    expect(await new SendGuard(q).verdict(m!, false)).toBe('opted_out');
  });
});
