import { describe, expect, it } from 'vitest';
import type { BatchHeaderModel, CardModel } from '../../src/bot/chatSurface.ts';
import {
  LIMITS,
  batchHeaderMessage,
  buttonId,
  cardsMessage,
  chatMessage,
  confirmButtonId,
  embedLength,
  packCards,
  parseButtonId,
  parseConfirmButtonId,
} from '../../src/bot/discord/render.ts';

function card(id: number, over: Partial<CardModel> = {}): CardModel {
  return {
    messageId: id,
    version: 1,
    campaignName: 'spring',
    customerName: `Customer ${id}`,
    maskedPhone: '+1415***0001',
    body: `Hi Customer ${id}! 10% off this week. Reply STOP to opt out`,
    status: 'suggested',
    segments: 1,
    encoding: 'GSM-7',
    estimatedCostUsd: 0.0079,
    context: [{ label: 'Last visit', value: '64 days ago' }],
    rationale: 'Lapsed regular',
    lint: [],
    statusLine: null,
    actions: ['approve', 'edit', 'reject'],
    ...over,
  };
}

type Row = { components: { custom_id: string; label: string }[] };

describe('Discord rendering respects Discord limits', () => {
  it('packs at most 5 cards per message, one button row of 3 buttons per card', () => {
    const cards = Array.from({ length: 12 }, (_, i) => card(i + 1));
    const packs = packCards(cards);
    expect(packs.map((p) => p.length)).toEqual([5, 5, 2]);
    for (const p of packs) {
      const m = cardsMessage(p).body;
      expect(m.embeds!.length).toBeLessThanOrEqual(LIMITS.embedsPerMessage);
      expect(m.components!.length).toBeLessThanOrEqual(LIMITS.rowsPerMessage);
      for (const row of m.components as unknown as Row[]) {
        expect(row.components.length).toBeLessThanOrEqual(LIMITS.buttonsPerRow);
        for (const b of row.components) expect(b.custom_id.length).toBeLessThanOrEqual(LIMITS.customId);
      }
      expect(m.embeds!.reduce((n, e) => n + embedLength(e), 0)).toBeLessThanOrEqual(LIMITS.embedCharsPerMessage);
    }
    const first = cardsMessage(packs[0]!).body.components as unknown as Row[];
    expect(first[1]!.components.map((b) => [b.custom_id, b.label])).toEqual([
      ['approve:2', 'Approve #2'],
      ['edit:2', 'Edit #2'],
      ['reject:2', 'Reject #2'],
    ]);
  });

  it('moves long texts to the next message so no message passes 6000 embed characters', () => {
    const long = Array.from({ length: 5 }, (_, i) => card(i + 1, { body: 'x'.repeat(1590) }));
    const packs = packCards(long);
    expect(packs.length).toBeGreaterThan(1);
    expect(packs.flat().map((c) => c.messageId)).toEqual([1, 2, 3, 4, 5]);
    for (const p of packs) {
      expect(cardsMessage(p).body.embeds!.reduce((n, e) => n + embedLength(e), 0)).toBeLessThanOrEqual(6000);
    }
  });

  it('shows only the actions a card still offers, and no row when it offers none', () => {
    const m = cardsMessage([card(1, { status: 'approved', actions: ['edit'] }), card(2, { status: 'sent', actions: [] })]).body;
    expect((m.components as unknown as Row[]).map((r) => r.components.map((b) => b.custom_id))).toEqual([['edit:1']]);
    expect(m.embeds).toHaveLength(2);
  });

  it('routes by custom id, and reads back only ids it produced', () => {
    expect(buttonId({ action: 'approve', messageId: 42 })).toBe('approve:42');
    expect(parseButtonId('reject_all:7')).toEqual({ action: 'reject_all', batchId: 7 });
    expect(parseButtonId('edit:9')).toEqual({ action: 'edit', messageId: 9 });
    expect(parseButtonId('delete:9')).toBeUndefined();
    expect(parseButtonId('approve:abc')).toBeUndefined();
    expect(parseConfirmButtonId(confirmButtonId('cancel "spring" confirm')!)).toBe('cancel "spring" confirm');
    expect(confirmButtonId('cancel "' + 'n'.repeat(100) + '" confirm')).toBeUndefined();
  });

  it('renders the batch header with Approve all / Reject all, and none when nothing is pending', () => {
    const h: BatchHeaderModel = {
      batchId: 7, campaignName: 'spring', channel: 'C', segmentSpec: 'lapsed:60', generator: 'templates', suggestionCount: 12,
      lintFindingCount: 2, estimatedCostUsd: 0.0948, counts: { suggested: 10, approved: 2 }, sendingWindow: 'Mon-Sat 09:00-20:00 America/Los_Angeles',
      actions: ['approve_all', 'reject_all'],
    };
    const m = batchHeaderMessage(h).body;
    expect((m.components as unknown as Row[])[0]!.components.map((b) => b.custom_id)).toEqual(['approve_all:7', 'reject_all:7']);
    expect(JSON.stringify(m.embeds)).toContain('Suggested 10 · Approved 2');
    expect(batchHeaderMessage({ ...h, actions: [] }).body.components).toEqual([]);
  });

  it('attaches a chat message image as a file referenced by the embed, and never pings anyone', () => {
    const m = chatMessage({ title: 'Daily summary', text: 'Sent 40 @everyone', image: { filename: 'chart.png', base64: Buffer.from('png').toString('base64'), alt: 'Sends per day' } });
    expect(m.body.embeds![0]!.image).toEqual({ url: 'attachment://chart.png' });
    expect(m.body.attachments).toEqual([{ id: '0', filename: 'chart.png', description: 'Sends per day' }]);
    expect(m.files).toEqual([{ name: 'chart.png', data: Buffer.from('png'), contentType: 'image/png' }]);
    expect(m.body.allowed_mentions).toEqual({ parse: [] });
  });
});
