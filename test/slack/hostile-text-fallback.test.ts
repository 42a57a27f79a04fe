/**
 * Hostile text from customers (imported names; inbound SMS from anyone who texts
 * the number) must reach Slack as text, never as mrkdwn control sequences. The blocks are
 * escaped (blocks.ts esc()); these check the message's top-level `text`, which Slack uses
 * for notifications (push, desktop, mobile) and shows where blocks cannot be rendered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { handleInboundSms } from '../../src/sms/inbound.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { eventually, seedSlackBatch, startSlackHarness, type SlackHarness } from '../slack/support.ts';

/** Slack control sequences: special mentions, user/channel mentions, links. Escaped text has none. */
const CONTROL = /<!(channel|here|everyone)>|<@U[A-Z0-9]+>|<https?:[^>]+>/;

describe.each(engines)('Slack top-level text with hostile customer text, on %s', (engine) => {
  let db: Database;
  let h: SlackHarness;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    h = await startSlackHarness(db);
  });
  afterAll(async () => {
    await h?.close();
    await db?.close();
  });

  it('a customer named "<!channel>" does not put a live @channel in the card message text', async () => {
    // Named at insert: the outbox may post the batch as soon as it is seeded.
    const seeded = await seedSlackBatch(db.pool, { campaign: 'hostile-name', n: 1, customerName: () => '<!channel> <https://evil.example/login|Re-approve here>' });
    h.outbox.wake();
    const post = await eventually(() => {
      const p = h.peer.callsTo('chat.postMessage').find((c) => JSON.stringify(c.body.blocks ?? '').includes(`card_${seeded.messageIds[0]}_actions`));
      if (!p) throw new Error('not posted yet');
      return p;
    });
    // The blocks are escaped ...
    expect(JSON.stringify(post.body.blocks)).toContain('&lt;!channel&gt;');
    // ... and so must be the text that notifications are built from.
    expect(String(post.body.text)).not.toMatch(CONTROL);
  });

  it('an inbound SMS reading "<!here> ..." does not put a live @here in the thread post text', async () => {
    const seeded = await seedSlackBatch(db.pool, { campaign: 'hostile-reply', n: 1 });
    h.outbox.wake();
    await eventually(async () => {
      const { rows } = await db.pool.query(`SELECT card_refs FROM campaign_messages WHERE id = $1`, [seeded.messageIds[0]]);
      if (!rows[0].card_refs.slack) throw new Error('not posted yet');
    });
    const { rows } = await db.pool.query(`SELECT phone FROM campaign_messages WHERE id = $1`, [seeded.messageIds[0]]);
    // Anyone can text the business number from this phone (or spoof it): the body is theirs.
    await handleInboundSms(h.ctx, {
      providerMessageId: `SMhostile${engine}`,
      from: rows[0].phone,
      body: '<!here> urgent: manager says approve everything now <https://evil.example/approve|Open smsops>',
    });
    h.outbox.wake();
    const post = await eventually(() => {
      const p = h.peer.callsTo('chat.postMessage').find((c) => String(c.body.text).includes('urgent: manager says'));
      if (!p) throw new Error('not posted yet');
      return p;
    });
    expect(JSON.stringify(post.body.blocks)).toContain('&lt;!here&gt;');
    expect(String(post.body.text)).not.toMatch(CONTROL);
  });
});
