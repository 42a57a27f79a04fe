/**
 * A message back in review shows why on its card, on every surface: reconciliation sends
 * two same-text messages to one number to review when the provider shows ONE SMS for them,
 * and its warning ("check the provider's log before approving any of them again") is what
 * the person about to click Approve must read. Escaped like every other stored text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardFromRow, loadCard } from '../../src/bot/cards.ts';
import { cardsMessage as discordCards } from '../../src/bot/discord/render.ts';
import { cardBlocks } from '../../src/bot/slack/blocks.ts';
import type { Database } from '../../src/db/database.ts';
import { getCardRow } from '../../src/db/queries/cardRows.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { insertAttemptedMessage, insertOutboxSms, statusOf, testContext } from '../scheduler/support.ts';

describe.each(engines)('the reason a message is back in review, on its card, on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db, { RECIPIENT_QUIET_HOURS: 'off' });
  });
  afterAll(() => db?.close());

  /** Two orphans to one number, same text: A's SMS went (12 minutes ago), B's never did. */
  async function ambiguousPair() {
    n++;
    const c = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA', name: `Pat ${n}` });
    const body = `Same template text ${n}. Reply STOP to opt out`;
    const ids: number[] = [];
    for (const [minutesAgo, went] of [[12, true], [10, false]] as const) {
      const campaignId = await insertCampaign(db.pool, { name: `amb-${engine}-${n}-${minutesAgo}` });
      const at = new Date(ctx.clock.now().getTime() - minutesAgo * 60_000);
      const id = await insertAttemptedMessage(db, { campaignId, phone: c.phone, customerId: c.id, body, scheduledAt: at, attemptAt: at });
      if (went) await insertOutboxSms(db, { providerMessageId: `SMamb${engine}${n}`, phone: c.phone, body, messageId: id, at: new Date(at.getTime() + 1000) });
      ids.push(id);
    }
    await new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 }).reconcileOnce();
    expect((await statusOf(db, ids[0]!)).status).toBe('needs_review');
    expect((await statusOf(db, ids[1]!)).status).toBe('needs_review');
    return { a: ids[0]!, b: ids[1]! };
  }

  it("the card says the SMS may already have gone and to check the provider's log (not 'its send slot passed')", async () => {
    const { a, b } = await ambiguousPair();
    const card = await loadCard(db.pool, ctx, a);
    // A person still decides: Approve stays, after reading why.
    expect(card.actions).toEqual(['approve', 'edit', 'reject']);
    expect(card.statusLine).toMatch(/^Needs review: the provider shows an SMS with this text to this number, but message \d+ .* check the provider's log before approving any of them again( \(approved by .*\))?$/);
    // A person who finds its SMS in the provider's log can say so: the card shows how.
    expect(card.statusHint).toBe(`If the provider's log shows it went: /campaign sent ${card.messageId} SMSID`);
    expect(JSON.stringify(cardBlocks(card))).toContain(card.statusHint);
    expect(card.statusLine).toContain(`message ${b}`);

    // Slack shows it under the text, and asks before approving, repeating it.
    const slack = JSON.stringify(cardBlocks(card));
    expect(slack).toContain("check the provider's log before approving");
    const approve = cardBlocks(card).flatMap((x) => (x.type === 'actions' ? x.elements : [])).find((e) => 'action_id' in e && e.action_id === 'card_approve') as {
      confirm?: { text: { text: string } };
    };
    expect(approve.confirm?.text.text).toMatch(/^Needs review: the provider shows an SMS/);
    // Discord shows it in the card's Status field.
    const embed = discordCards([card]).body.embeds![0]!;
    expect(embed.fields!.find((f) => f.name === 'Status')!.value).toContain("check the provider's log before approving");
  });

  it('a suggestion is approved without a question; a message back in review for its slot says so', async () => {
    const campaignId = await insertCampaign(db.pool, { name: `late-${engine}` });
    const id = await insertMessage(db.pool, { campaignId, status: 'suggested' });
    const fresh = cardBlocks(await loadCard(db.pool, ctx, id)).flatMap((x) => (x.type === 'actions' ? x.elements : []));
    expect(fresh.some((e) => 'confirm' in e)).toBe(false);
    await db.pool.query(`UPDATE campaign_messages SET status = 'needs_review', last_error = NULL WHERE id = $1`, [id]);
    expect((await loadCard(db.pool, ctx, id)).statusLine).toBe('Needs review: its send slot passed');
  });

  it('the reason is escaped like any stored text on Slack and Discord (the console shows it as text)', async () => {
    const campaignId = await insertCampaign(db.pool, { name: `hostile-${engine}` });
    const id = await insertMessage(db.pool, { campaignId, status: 'approved' });
    await db.pool.query(`UPDATE campaign_messages SET status = 'needs_review', last_error = $2 WHERE id = $1`, [id, '<!channel> *urgent* <https://evil.example|log> & more']);
    const card = cardFromRow(ctx, (await getCardRow(db.pool, id))!);
    expect(card.statusLine).toContain('<!channel> *urgent*');
    // In mrkdwn (what notifies and links) it is escaped; the Approve question is plain_text, which Slack never parses.
    const blocks = cardBlocks(card);
    const mrkdwn = JSON.stringify(blocks.flatMap((x) => (x.type === 'context' ? x.elements : [])));
    expect(mrkdwn).toContain('*Needs review: &lt;!channel&gt; *urgent* &lt;https://evil.example|log&gt; &amp; more');
    expect(mrkdwn).not.toContain('<!channel>');
    const approve = blocks.flatMap((x) => (x.type === 'actions' ? x.elements : [])).find((e) => 'action_id' in e && e.action_id === 'card_approve') as {
      confirm: { text: { type: string; text: string } };
    };
    expect(approve.confirm.text.type).toBe('plain_text');
    const status = discordCards([card]).body.embeds![0]!.fields!.find((f) => f.name === 'Status')!.value;
    expect(status).toContain('\\*urgent\\*');
  });
});
