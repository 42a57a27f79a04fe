/**
 * Slack and Discord render the same card model: every fact a manager decides on (who,
 * masked phone, text, why, lint, state, size and cost) and the same actions appear on
 * both, for arbitrary cards (names and texts full of markdown characters included).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BatchHeaderModel, CardAction, CardModel } from '../../src/bot/chatSurface.ts';
import { batchHeaderMessage as discordHeader, cardsMessage as discordCards, formatUsd } from '../../src/bot/discord/render.ts';
import { ACTION_IDS, batchHeaderMessage as slackHeader, cardsMessage as slackCards } from '../../src/bot/slack/blocks.ts';
import { MESSAGE_STATUSES } from '../../src/domain/messageStatus.ts';

/** Every string inside a Slack block tree, with Slack's &amp; &lt; &gt; undone. */
function slackText(blocks: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown, key = ''): void => {
    if (typeof v === 'string' && (key === 'text' || key === 'value')) out.push(v);
    else if (Array.isArray(v)) v.forEach((x) => walk(x));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(blocks);
  return out.join('\n').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Every visible string of Discord embeds, with escapeMarkdown's backslashes undone. */
function discordText(embeds: unknown): string {
  const out: string[] = [];
  for (const e of embeds as { title?: string; description?: string; fields?: { name: string; value: string }[]; footer?: { text: string } }[]) {
    out.push(e.title ?? '', e.description ?? '', ...(e.fields ?? []).flatMap((f) => [f.name, f.value]), e.footer?.text ?? '');
  }
  return out.join('\n').replace(/\\(.)/g, '$1');
}

function slackActions(blocks: unknown): string[] {
  const ids = JSON.stringify(blocks).match(/"action_id":"[a-z_]+"/g) ?? [];
  const back = Object.fromEntries(Object.entries(ACTION_IDS).map(([k, v]) => [v, k.replace('All', '_all')]));
  return ids.map((m) => back[m.slice(13, -1)]!);
}

function discordActions(components: unknown): string[] {
  return (JSON.stringify(components).match(/"custom_id":"[a-z_]+:/g) ?? []).map((m) => m.slice(13, -1));
}

// Printable text without backslashes (escapes are undone by dropping them) and without
// runs of spaces (Slack quotes the text line by line).
const text = (max: number) =>
  fc.string({ unit: fc.constantFrom(...'abcXYZ 019*_~`|>#-<&!.,:\'"é😀'.split('')), minLength: 1, maxLength: max }).map((s) => s.trim() || 'x');

const cardArb: fc.Arbitrary<CardModel> = fc.record({
  messageId: fc.integer({ min: 1, max: 1e9 }),
  version: fc.integer({ min: 1, max: 50 }),
  campaignName: text(30),
  customerName: text(30),
  maskedPhone: fc.constantFrom('+1415***0123', '+4477***9911'),
  body: text(300),
  status: fc.constantFrom(...MESSAGE_STATUSES),
  segments: fc.integer({ min: 1, max: 4 }),
  encoding: fc.constantFrom('GSM-7' as const, 'UCS-2' as const),
  estimatedCostUsd: fc.double({ min: 0, max: 2, noNaN: true }),
  context: fc.array(fc.record({ label: text(20), value: text(40) }), { maxLength: 5 }),
  rationale: fc.option(text(80), { nil: null }),
  lint: fc.array(
    fc.record({ rule: fc.constant('r'), severity: fc.constantFrom('error' as const, 'warning' as const, 'info' as const), message: text(60) }),
    { maxLength: 3 },
  ),
  statusLine: fc.option(text(60), { nil: null }),
  statusHint: fc.option(text(60), { nil: null }),
  actions: fc.subarray<CardAction>(['approve', 'edit', 'reject']),
});

describe('Slack and Discord show the same card', () => {
  it('same facts and same actions for any card model', () => {
    fc.assert(
      fc.property(cardArb, (card) => {
        const slack = slackCards([card]).blocks;
        const discord = discordCards([card]).body;
        const s = slackText(slack);
        const d = discordText(discord.embeds);
        const facts = [
          card.customerName,
          card.maskedPhone,
          ...card.body.split('\n'),
          ...card.context.flatMap((c) => [c.label, c.value]),
          ...(card.rationale ? [card.rationale] : []),
          ...card.lint.map((f) => f.message),
          ...(card.statusLine ? [card.statusLine] : []),
          ...(card.statusHint ? [card.statusHint] : []),
          card.encoding,
          formatUsd(card.estimatedCostUsd),
        ];
        for (const fact of facts) {
          expect(s, `Slack shows "${fact}"`).toContain(fact);
          expect(d, `Discord shows "${fact}"`).toContain(fact);
        }
        expect(s).toMatch(new RegExp(`${card.segments} segments?`));
        expect(d).toMatch(new RegExp(`${card.segments} segments?`));
        expect(discordActions(discord.components)).toEqual(slackActions(slack));
        expect(discordActions(discord.components).sort()).toEqual([...card.actions].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('same batch facts and bulk actions on the parent message', () => {
    const h: BatchHeaderModel = {
      batchId: 12, campaignName: 'spring <promo> & more', channel: 'C1', segmentSpec: 'lapsed:60', generator: 'openai', suggestionCount: 40,
      lintFindingCount: 3, estimatedCostUsd: 0.316, counts: { suggested: 30, approved: 8, rejected: 2 },
      sendingWindow: 'Mon,Tue,Wed,Thu,Fri,Sat 09:00-20:00 America/Los_Angeles', editsThrough: '0', actions: ['approve_all', 'reject_all'],
    };
    const s = slackText(slackHeader(h).blocks);
    const d = discordText(discordHeader(h).body.embeds);
    for (const fact of [h.campaignName, '#12', 'lapsed:60', 'openai', '40', '3', '$0.3160', h.sendingWindow, '30', '8', '2']) {
      expect(s).toContain(fact);
      expect(d).toContain(fact.replace('#12', '12'));
    }
    expect(discordActions(discordHeader(h).body.components)).toEqual(slackActions(slackHeader(h).blocks));
    expect(discordActions(discordHeader({ ...h, actions: [] }).body.components)).toEqual([]);
  });
});
