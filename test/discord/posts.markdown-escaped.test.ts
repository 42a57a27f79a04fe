/**
 * Thread posts carry customers' names and replies (an opt-out recorded by hand names the
 * customer, from the imported CSV). On Discord they are embeds, which render markdown: a name
 * written as a masked link would show the managers a phishing link with its address hidden,
 * in bold. Posts and cards show such text as typed, masked links included (discord.js's
 * escapeMarkdown leaves those out by default).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/bot/actor.ts';
import type { ChatMessage } from '../../src/bot/chatSurface.ts';
import { runCampaignCommand } from '../../src/bot/commands.ts';
import { chatMessage, plain } from '../../src/bot/discord/render.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertBatch, insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { testContext } from '../scheduler/support.ts';

const dana: Actor = { id: '111', name: 'Dana', surface: 'discord', isApprover: true };
const HOSTILE_NAME = '[Refund pending, log in](https://evil.example/login) **URGENT**';

describe.each(engines)('the thread post of an opt-out recorded by hand, on Discord, on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db, { RECIPIENT_QUIET_HOURS: 'off' });
  });
  afterAll(() => db?.close());

  it("shows the customer's name as text, not as Discord markdown", async () => {
    const c = await insertCustomer(db.pool, { name: HOSTILE_NAME });
    const campaignId = await insertCampaign(db.pool, { name: `md-${engine}`, chatSurface: 'discord', chatChannel: '999' });
    await insertMessage(db.pool, { campaignId, batchId: await insertBatch(db.pool, campaignId), status: 'sent', phone: c.phone, customerId: c.id });

    expect((await runCampaignCommand(ctx, dana, { text: `optout ${c.phone}`, channel: '999' })).text).toMatch(/is opted out/);
    const post = await db.pool.query<{ surface: string; message: ChatMessage }>(
      `SELECT surface, payload->'message' AS message FROM chat_outbox WHERE kind = 'thread' AND dedupe_key LIKE 'optout:manual:%'`,
    );
    expect(post.rows).toHaveLength(1);
    expect(post.rows[0]!.surface).toBe('discord');
    const description = chatMessage(post.rows[0]!.message).body.embeds![0]!.description!;
    // The name must be shown literally: escaped as the cards escape it.
    expect(description).not.toMatch(/(?<!\\)\[Refund pending, log in\]\(https:/);
    expect(description).toContain('\\[Refund pending, log in](https://evil.example/login) \\*\\*URGENT\\*\\*');
  });
});

describe('masked links anywhere in a line', () => {
  const NAME = '[VIP] [Refund pending, log in](https://evil.example/login)';
  /** A masked link Discord would render: "[text](http..." whose "[" is not escaped. */
  const LIVE_MASKED_LINK = /(?<!\\)\[[^\]\n]*\]\(<?https?:/;

  it('a masked link after another "[" on the line is escaped too (discord.js escapes the first only)', () => {
    expect(plain(NAME)).toBe('\\[VIP] \\[Refund pending, log in](https://evil.example/login)');
    const post = chatMessage({ title: 'Opt-out (recorded by hand)', text: `Dana recorded an opt-out for ${NAME} (+1415***0123).`, tone: 'warning' });
    expect(post.body.embeds![0]!.description).not.toMatch(LIVE_MASKED_LINK);
  });

  it('a backslash typed before a "[" cannot cancel its escape', () => {
    expect(plain('\\[x](https://evil.example)')).toBe('\\\\\\[x](https://evil.example)');
  });
});
