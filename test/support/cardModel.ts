/** A card model as the chat surfaces render it: a plain suggestion unless `over` says otherwise. */
import type { CardModel } from '../../src/bot/chatSurface.ts';

export function cardModel(id: number, over: Partial<CardModel> = {}): CardModel {
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
    statusHint: null,
    actions: ['approve', 'edit', 'reject'],
    ...over,
  };
}
