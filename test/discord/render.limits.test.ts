import { describe, expect, it } from 'vitest';
import type { BatchHeaderModel } from '../../src/bot/chatSurface.ts';
import {
  LIMITS,
  batchHeaderMessage,
  bulkConfirmId,
  buttonId,
  cardsMessage,
  chatMessage,
  confirmButtonId,
  editModalId,
  embedLength,
  packCards,
  parseBulkConfirmId,
  parseButtonId,
  parseConfirmButtonId,
  parseEditModalId,
  parseReviewApproveId,
  reviewApproveId,
} from '../../src/bot/discord/render.ts';
import { cardModel as card } from '../support/cardModel.ts';

type Row = { components: { custom_id: string; label: string }[] };

describe('Discord rendering respects Discord limits', () => {
  it('a card shows an SMS body with a masked link, a heading or a list as typed, so the approver sees where a link points', () => {
    const body = 'Your refund: [tap here](https://evil.example/login)\n# URGENT\n- reply now';
    const embed = cardsMessage([card(1, { body })]).body.embeds![0]!;
    expect(embed.description).toBe('Your refund: \\[tap here](https://evil.example/login)\n\\# URGENT\n\\- reply now');
  });

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
      ['approve:2:1', 'Approve #2'],
      ['edit:2:1', 'Edit #2'],
      ['reject:2:1', 'Reject #2'],
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
    expect((m.components as unknown as Row[]).map((r) => r.components.map((b) => b.custom_id))).toEqual([['edit:1:1']]);
    expect(m.embeds).toHaveLength(2);
  });

  it('routes by custom id carrying the version the card showed, and reads back only ids it produced', () => {
    expect(buttonId({ action: 'approve', messageId: 42, version: 3 })).toBe('approve:42:3');
    expect(parseButtonId('approve:42:3')).toEqual({ action: 'approve', messageId: 42, version: 3 });
    // A card rendered before versions were carried: read, with no version (its decisions are refused as out of date).
    expect(parseButtonId('edit:9')).toEqual({ action: 'edit', messageId: 9, version: null });
    expect(parseButtonId('reject_all:7')).toEqual({ action: 'reject_all', batchId: 7, editsThrough: null });
    expect(parseButtonId('approve_all:7:1763920800123456')).toEqual({ action: 'approve_all', batchId: 7, editsThrough: '1763920800123456' });
    expect(parseBulkConfirmId(bulkConfirmId('approve_all', 7, '1763920800123456'))).toEqual({ action: 'approve_all', batchId: 7, editsThrough: '1763920800123456' });
    expect(parseEditModalId(editModalId(42, 5))).toEqual({ messageId: 42, version: 5 });
    expect(parseEditModalId('edit_modal:42')).toEqual({ messageId: 42, version: null });
    expect(parseReviewApproveId(reviewApproveId(42, 5))).toEqual({ messageId: 42, version: 5 });
    // The longest ids fit Discord's 100 characters.
    const big = Number.MAX_SAFE_INTEGER;
    for (const id of [buttonId({ action: 'reject', messageId: big, version: 2_147_483_647 }), bulkConfirmId('approve_all', big, '9'.repeat(20)), editModalId(big, 2_147_483_647), reviewApproveId(big, 2_147_483_647)]) {
      expect(id.length).toBeLessThanOrEqual(LIMITS.customId);
    }
    expect(parseButtonId('delete:9')).toBeUndefined();
    expect(parseButtonId('approve:abc')).toBeUndefined();
    expect(parseButtonId('approve:9:1234567890')).toBeUndefined();
    expect(parseConfirmButtonId(confirmButtonId('cancel "spring" confirm')!)).toBe('cancel "spring" confirm');
    expect(confirmButtonId('cancel "' + 'n'.repeat(100) + '" confirm')).toBeUndefined();
  });

  it('renders the batch header with Approve all / Reject all, and none when nothing is pending', () => {
    const h: BatchHeaderModel = {
      batchId: 7, campaignName: 'spring', channel: 'C', segmentSpec: 'lapsed:60', generator: 'templates', suggestionCount: 12,
      lintFindingCount: 2, estimatedCostUsd: 0.0948, counts: { suggested: 10, approved: 2 }, sendingWindow: 'Mon-Sat 09:00-20:00 America/Los_Angeles',
      editsThrough: '1763920800123456', actions: ['approve_all', 'reject_all'],
    };
    const m = batchHeaderMessage(h).body;
    expect((m.components as unknown as Row[])[0]!.components.map((b) => b.custom_id)).toEqual(['approve_all:7:1763920800123456', 'reject_all:7']);
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
