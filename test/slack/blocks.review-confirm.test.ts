import { describe, expect, it } from 'vitest';
import { cardBlocks } from '../../src/bot/slack/blocks.ts';
import { cardModel } from '../support/cardModel.ts';

/** The confirm dialog of a card's Approve button, if it has one. */
function approveConfirm(statusLine: string | null, status: 'needs_review' | 'suggested' = 'needs_review') {
  const blocks = cardBlocks(cardModel(7, { status, statusLine })) as { type: string; elements?: { action_id: string; confirm?: { text: { text: string } } }[] }[];
  const approve = blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'card_approve');
  return approve?.confirm?.text.text;
}

describe('Slack: approving a message back in review asks first', () => {
  it('repeats the whole reason when it fits', () => {
    expect(approveConfirm('Needs review: not found at the provider after 3 attempts.')).toBe(
      'Needs review: not found at the provider after 3 attempts. Approving schedules it to be sent.',
    );
  });

  it('a reason too long for the dialog is shortened, never the sentence that says what Approve does', () => {
    const reason = `Needs review: ${'the provider shows an SMS with this text to this number, '.repeat(8)}check its log.`;
    const text = approveConfirm(reason)!;
    expect(text.length).toBeLessThanOrEqual(300);
    expect(text).toMatch(/^Needs review: the provider shows an SMS/);
    expect(text.endsWith('… (shortened) Approving schedules it to be sent.')).toBe(true);
  });

  it('a suggestion is approved without a question', () => {
    expect(approveConfirm(null, 'suggested')).toBeUndefined();
  });
});
