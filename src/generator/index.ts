/**
 * The generator's public face: `generateBatch` (CLI `smsops generate`, chat `/campaign generate`)
 * and the pieces other modules reuse (the lint, the brief parser, segment parsing).
 */
export { generateBatch, type GenerateInput, type GenerateResult } from './batch.ts';
export { lintMessage, measureMessage, withOptOutText, countFindings, type LintContext, type MessageMeasure } from './lint.ts';
export { parseBrief, briefFromJson, type CampaignBrief } from './brief.ts';
export { parseSegment, CAMPAIGN_TYPES, type CampaignType, type Segment } from './segments.ts';
export { parseCustomerContext, type ContextItem } from './context.ts';
