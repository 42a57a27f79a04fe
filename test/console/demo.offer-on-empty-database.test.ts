import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CAMPAIGN, DEMO_SETTINGS, demoClockStart } from '../../src/bot/console/demo.ts';
import { effectiveSettings } from '../../src/campaigns/settings.ts';
import { loadConfig } from '../../src/config.ts';
import { insideWindows, windowsFor, type RecipientRef } from '../../src/scheduler/recipients.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { call } from './http.ts';
import { startConsole, type RunningConsole } from './support.ts';

describe.each(engines)('demo data on %s', (engine) => {
  let db: Database;
  let running: RunningConsole;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    running = await startConsole(db);
  });
  afterAll(async () => {
    await running?.close();
    await db?.close();
  });

  it('loads the example customers and a first batch for the console, with relaxed pacing', async () => {
    expect((await call(running.base, '/api/channel')).body.empty).toBe(true);

    const r = await call(running.base, '/api/demo', { actor: 'Dana' });

    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true });
    const { imported, batchId, suggestions } = r.body as { imported: number; batchId: number; suggestions: number };
    expect(imported).toBeGreaterThan(0);
    expect(suggestions).toBeGreaterThan(0);
    const campaign = await db.pool.query('SELECT name, chat_surface, chat_channel, settings FROM campaigns');
    expect(campaign.rows).toEqual([{ name: DEMO_CAMPAIGN, chat_surface: 'console', chat_channel: 'console', settings: DEMO_SETTINGS }]);
    const post = await db.pool.query(`SELECT surface, kind FROM chat_outbox WHERE batch_id = $1 AND kind = 'batch'`, [batchId]);
    expect(post.rows).toEqual([{ surface: 'console', kind: 'batch' }]);
    const customers = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM customers');
    expect(customers.rows[0]!.n).toBe(imported);
    expect((await call(running.base, '/api/channel')).body.empty).toBe(false);
  });

  it('refuses to load into a database that has data', async () => {
    const again = await call(running.base, '/api/demo', {});
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ ok: false });
    const campaigns = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM campaigns');
    expect(campaigns.rows[0]!.n).toBe(1);
  });

  it('starts its fast clock where every demo customer may be texted for the next five hours, whatever the hour', async () => {
    const settings = effectiveSettings(loadConfig({ LOG_LEVEL: 'silent' }), DEMO_SETTINGS);
    const { rows } = await db.pool.query<RecipientRef>(
      'SELECT phone, timezone AS customer_timezone, state AS customer_state FROM customers',
    );
    expect(rows.length).toBeGreaterThan(0);
    const windows = await Promise.all(rows.map((m) => windowsFor(m, settings)));
    // Florida and Oklahoma customers are among them: state law narrows their hours.
    for (const state of ['FL', 'OK']) {
      const i = rows.findIndex((r) => r.customer_state === state);
      expect(i, state).toBeGreaterThanOrEqual(0);
      expect(windows[i]!.length, state).toBeGreaterThan(0);
    }
    const HOUR = 3_600_000;
    // Every hour of an ordinary day and of both DST change days in the US.
    for (const day of ['2026-11-28T00:00:00Z', '2026-03-08T00:00:00Z', '2026-11-01T00:00:00Z']) {
      for (let h = 0; h < 24; h++) {
        const now = new Date(Date.parse(day) + h * HOUR);
        const start = demoClockStart(now).getTime();
        expect(start).toBeGreaterThanOrEqual(now.getTime());
        expect(start - now.getTime()).toBeLessThan(24 * HOUR);
        for (let t = start; t <= start + 5 * HOUR; t += 15 * 60_000) {
          const closed = rows.filter((_, i) => !insideWindows(t, settings, windows[i]!));
          expect(closed, `${new Date(t).toISOString()} (demo clock started at ${now.toISOString()})`).toEqual([]);
        }
      }
    }
  });
});
