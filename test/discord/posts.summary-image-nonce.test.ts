import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { enqueueChatPosts } from '../../src/db/queries/outbox.ts';
import { engines } from '../support/db.ts';
import { asIfCrashedAfterPosting } from '../support/outboxCrash.ts';
import { CHANNEL_ID, startHarness, type Harness } from './harness.ts';
import { deliverOutbox } from './outboxWait.ts';

/** A 1x1 PNG: the daily summary's chart. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

/**
 * The daily summary with its chart goes to Discord as one multipart create (payload_json plus
 * the file): the nonce has to travel in payload_json for a retry after a crash to get the
 * first message back instead of a second summary with a second chart.
 */
describe.each(engines)('the Discord daily summary with its chart, retried after a crash, on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engine);
  });
  afterAll(() => h?.close());
  beforeEach(() => h.peer.reset());

  it('is posted once, chart included, and the retry gets the same message back', async () => {
    const key = 'summary:review:chart';
    await enqueueChatPosts(h.db.pool, [
      {
        surface: 'discord',
        kind: 'channel',
        dedupeKey: key,
        payload: { channel: CHANNEL_ID, message: { title: 'Daily summary', text: '52 sent', image: { filename: 'summary.png', base64: PNG, alt: 'sends by hour' } } },
      },
    ]);
    await deliverOutbox(h.ctx, h.discord.surface, key);
    await asIfCrashedAfterPosting(h.db.pool, key);
    await deliverOutbox(h.ctx, h.discord.surface, key);

    const creates = h.peer.callsTo('POST', new RegExp(`^/channels/${CHANNEL_ID}/messages$`)).filter((c) => JSON.stringify(c.body).includes('52 sent'));
    expect(creates).toHaveLength(2);
    for (const c of creates) {
      expect(c.files.map((f) => f.name)).toEqual(['summary.png']);
      expect(c.body).toMatchObject({ nonce: expect.stringMatching(/^smsops-c\d+$/), enforce_nonce: true });
    }
    const summaries = [...h.peer.messages.values()].filter((m) => m.channel_id === CHANNEL_ID && JSON.stringify(m.embeds).includes('52 sent'));
    expect(summaries).toHaveLength(1);
    const results = (await h.db.pool.query(`SELECT result FROM chat_outbox WHERE dedupe_key = $1`, [key])).rows[0].result;
    expect(results).toMatchObject({ posted: { id: summaries[0]!.id } });
  });
});
