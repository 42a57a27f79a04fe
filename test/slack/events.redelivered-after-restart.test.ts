/**
 * Slack redelivers an event it thinks we missed (X-Slack-Retry-Num), with the same
 * event_id, to whichever instance answers, and also after we restarted: the command in it
 * runs once. Ids are kept in the database, pruned after a day.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { claimEvent, pruneHandledEvents } from '../../src/db/queries/handledEvents.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { slackSignatureHeaders } from '../peers/slack.ts';
import { CHANNEL, DANA, SECRET, eventually, startSlackHarness, type SlackHarness } from './support.ts';

function mention(eventId: string, text: string): string {
  return JSON.stringify({
    token: 'legacy', team_id: 'T1', api_app_id: 'A1', type: 'event_callback', event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    event: { type: 'app_mention', user: DANA.id, text: `<@UBOT> ${text}`, ts: '1700000000.000200', channel: CHANNEL, event_ts: '1700000000.000200' },
    authorizations: [{ team_id: 'T1', user_id: 'UBOT', is_bot: true }],
  });
}

async function deliver(h: SlackHarness, body: string, retry?: number): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...slackSignatureHeaders(SECRET, body) };
  if (retry) Object.assign(headers, { 'x-slack-retry-num': String(retry), 'x-slack-retry-reason': 'http_timeout' });
  return (await fetch(h.eventsUrl, { method: 'POST', headers, body })).status;
}

const answers = (h: SlackHarness) => h.peer.callsTo('chat.postEphemeral').length + h.peer.callsTo('chat.postMessage').length;

describe.each(engines)('slack event redelivery on %s', (engine) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(() => db?.close());

  it('an event redelivered to a restarted instance is not acted on again', async () => {
    const body = mention(`EvRESTART-${engine}`, 'help');
    const first = await startSlackHarness(db, { outbox: false });
    expect(await deliver(first, body)).toBe(200);
    await eventually(() => expect(answers(first)).toBe(1));
    await first.close();

    const second = await startSlackHarness(db, { outbox: false });
    try {
      for (const retry of [1, 2]) expect(await deliver(second, body, retry)).toBe(200);
      // A new event still gets its answer, and the redeliveries before it got none.
      expect(await deliver(second, mention(`EvNEW-${engine}`, 'help'))).toBe(200);
      await eventually(() => expect(answers(second)).toBe(1));
      await new Promise((r) => setTimeout(r, 300)); // room for a wrongly repeated answer to arrive
      expect(second.peer.calls.filter((c) => /^chat\.post/.test(c.method))).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('ids are per platform and forgotten after a day', async () => {
    expect(await claimEvent(db.pool, 'slack', `EvSAME-${engine}`, 'app_mention')).toBe(true);
    expect(await claimEvent(db.pool, 'discord', `EvSAME-${engine}`, '3')).toBe(true);
    expect(await claimEvent(db.pool, 'slack', `EvSAME-${engine}`, 'app_mention')).toBe(false);
    await db.pool.query(`UPDATE handled_events SET received_at = now() - interval '25 hours' WHERE id = $1`, [`EvSAME-${engine}`]);
    expect(await pruneHandledEvents(db.pool)).toBeGreaterThanOrEqual(2);
    expect(await claimEvent(db.pool, 'slack', `EvSAME-${engine}`, 'app_mention')).toBe(true);
  });
});
