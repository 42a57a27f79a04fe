/**
 * One suggestion per customer, from the template library or from OpenAI, each with its
 * opt-out wording, segment count, lint findings, customer context and rationale.
 *
 * OpenAI path, per customer: ask; an unusable answer (not JSON, wrong shape) is asked once
 * more; an answer that fails the lint (errors) is regenerated once with the findings as
 * feedback, and the better of the two is kept with its findings for a human to fix. A
 * customer the API cannot serve after the client's retries gets a template suggestion,
 * marked as such; several such failures in a row stop the batch (the API is down).
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { CampaignSettings } from '../campaigns/settings.ts';
import { AppError } from '../errors.ts';
import type { CampaignBrief } from './brief.ts';
import { contextItems, customerFacts, type AudienceCustomer, type CustomerFacts } from './context.ts';
import { hasErrors, measureAndLint, withOptOutText, type LintContext } from './lint.ts';
import type { Completer } from './openaiClient.ts';
import { mapPool } from './pool.ts';
import { customerDataMessage, lintFeedbackMessage, systemPrompt } from './prompt.ts';
import type { NewMessage } from './queries.ts';
import type { CampaignType } from './segments.ts';
import { templateSuggestion } from './templates.ts';

export interface SuggestJob {
  type: CampaignType;
  brief: CampaignBrief;
  settings: CampaignSettings;
  seed: number;
}

export type Draft = NewMessage & { name: string | null };

export type Progress = (done: number, total: number) => void;

/** Consecutive customers the API could not serve before the batch is abandoned. */
export const MAX_CONSECUTIVE_FAILURES = 5;

/** Finishes a body: opt-out wording, measure, lint. */
export function finishDraft(
  customer: AudienceCustomer,
  facts: CustomerFacts,
  s: { body: string; variant: string; rationale: string; suggestedBy: string },
  lc: LintContext,
): Draft {
  const body = withOptOutText(s.body, lc.settings);
  const { measure: m, lint } = measureAndLint(body, lc);
  return {
    customerId: customer.id,
    name: customer.name,
    phone: customer.phone,
    body,
    variant: s.variant,
    suggestedBy: s.suggestedBy,
    segments: m.segments,
    encoding: m.encoding,
    context: contextItems(facts),
    rationale: s.rationale,
    lint,
  };
}

/** A template suggestion for one customer (pure; deterministic in the job's seed). */
export function templateDraft(customer: AudienceCustomer, job: SuggestJob): Draft {
  const facts = customerFacts(customer);
  const t = templateSuggestion(job.type, job.brief, facts, customer.id, job.seed);
  return finishDraft(customer, facts, { ...t, suggestedBy: 'templates' }, { settings: job.settings, brief: job.brief });
}

export function templateDrafts(customers: readonly AudienceCustomer[], job: SuggestJob, onProgress?: Progress): Draft[] {
  return customers.map((c, i) => {
    const d = templateDraft(c, job);
    onProgress?.(i + 1, customers.length);
    return d;
  });
}

export interface AiStats {
  /** Unusable answers asked again. */
  formatRetries: number;
  /** Suggestions regenerated because they failed the lint. */
  regenerations: number;
  /** Customers given a template because the API could not serve them. */
  fallbacks: number;
  fallbackReasons: string[];
}

export async function openAiDrafts(
  completer: Completer,
  customers: readonly AudienceCustomer[],
  job: SuggestJob,
  concurrency: number,
  onProgress?: Progress,
): Promise<{ drafts: Draft[]; stats: AiStats }> {
  const lc: LintContext = { settings: job.settings, brief: job.brief };
  const system = systemPrompt({ brief: job.brief, type: job.type, settings: job.settings });
  const stats: AiStats = { formatRetries: 0, regenerations: 0, fallbacks: 0, fallbackReasons: [] };
  const suggestedBy = `openai:${completer.usage().model}`;
  let consecutiveFailures = 0;
  let done = 0;

  const one = async (customer: AudienceCustomer): Promise<Draft> => {
    const facts = customerFacts(customer);
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: system },
      { role: 'user', content: customerDataMessage(customer, facts) },
    ];
    let first = await completer.complete(messages, job.seed);
    if (!first.ok && first.kind === 'format') {
      stats.formatRetries++;
      first = await completer.complete(messages, job.seed);
    }
    if (!first.ok) {
      if (first.kind === 'transient' && ++consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
        throw new AppError(
          'openai_unavailable',
          `OpenAI failed for ${consecutiveFailures} customers in a row (last: ${first.error}). Nothing was stored; try again later or run with --generator templates.`,
        );
      }
      stats.fallbacks++;
      if (stats.fallbackReasons.length < 5) stats.fallbackReasons.push(first.error);
      const d = templateDraft(customer, job);
      return { ...d, rationale: `${d.rationale} (AI suggestion unavailable: ${first.error.slice(0, 120)})` };
    }
    consecutiveFailures = 0;
    const ai = (r: { suggestion: { body: string; rationale: string } }) =>
      finishDraft(customer, facts, { body: r.suggestion.body, rationale: r.suggestion.rationale, variant: 'openai', suggestedBy }, lc);
    const draft = ai(first);
    if (!hasErrors(draft.lint)) return draft;

    stats.regenerations++;
    const second = await completer.complete(
      [...messages, { role: 'assistant', content: first.raw }, { role: 'user', content: lintFeedbackMessage(draft.lint) }],
      job.seed,
    );
    if (!second.ok) return draft;
    const redo = ai(second);
    return errorCount(redo) <= errorCount(draft) ? redo : draft;
  };

  const drafts = await mapPool(customers, concurrency, async (c) => {
    const d = await one(c);
    onProgress?.(++done, customers.length);
    return d;
  });
  return { drafts, stats };
}

function errorCount(d: Draft): number {
  return d.lint.filter((f) => f.severity === 'error').length;
}
