/**
 * The OpenAI side of the generator: one chat completion per customer with a JSON-schema
 * response format, the answer validated with zod. Transport failures are the `openai`
 * client's job: it retries timeouts, 408/409/429 and 5xx with exponential backoff and waits
 * exactly as long as a Retry-After (or retry-after-ms) header asks. We count every HTTP
 * attempt through its `fetch` hook, and add up token usage for the batch's cost estimate.
 */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { SUGGESTION_JSON_SCHEMA, suggestionSchema, type ModelSuggestion } from './prompt.ts';

export type OpenAiConfig = NonNullable<Config['openai']>;

export interface LlmUsage {
  model: string;
  /** Chat completions asked for (one per suggestion, plus format retries and lint regenerations). */
  calls: number;
  /** HTTP requests made, retries included. */
  httpRequests: number;
  promptTokens: number;
  completionTokens: number;
  estimatedCostUsd: number;
  /** USD per million tokens used for the estimate, or null when the model's price is unknown. */
  pricePerMillion: { input: number; output: number } | null;
}

export type CompletionResult =
  | { ok: true; suggestion: ModelSuggestion; raw: string }
  /** The call worked but the answer is unusable (not JSON, wrong shape, refused). */
  | { ok: false; kind: 'format'; error: string }
  /** The call failed after the client's own retries (timeouts, 429, 5xx, connection). */
  | { ok: false; kind: 'transient'; error: string };

/** USD per million tokens (input, output), list prices; used only for estimates. */
const PRICES: Record<string, { input: number; output: number }> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
};

export function modelPrice(model: string): { input: number; output: number } | null {
  // Dated snapshots ("gpt-4o-mini-2024-07-18") cost what their family costs.
  const family = Object.keys(PRICES)
    .filter((k) => model === k || model.startsWith(k + '-'))
    .sort((a, b) => b.length - a.length)[0];
  return family ? PRICES[family]! : null;
}

export interface Completer {
  complete(messages: ChatCompletionMessageParam[], seed?: number): Promise<CompletionResult>;
  usage(): LlmUsage;
}

/**
 * A completer bound to one model. Errors that no retry can fix (bad key, unknown model,
 * a request the server refuses) throw AppError('openai_failed') and stop the batch.
 */
export function createCompleter(cfg: OpenAiConfig): Completer {
  const price = modelPrice(cfg.model);
  const totals = { calls: 0, httpRequests: 0, promptTokens: 0, completionTokens: 0 };
  const client = new OpenAI({
    apiKey: cfg.apiKey,
    baseURL: cfg.baseUrl,
    timeout: cfg.timeoutMs,
    maxRetries: cfg.maxRetries,
    fetch: (url, init) => {
      totals.httpRequests++;
      return fetch(url, init);
    },
  });

  return {
    async complete(messages, seed) {
      totals.calls++;
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await client.chat.completions.create({
          model: cfg.model,
          messages,
          response_format: { type: 'json_schema', json_schema: { name: 'sms_suggestion', strict: true, schema: SUGGESTION_JSON_SCHEMA } },
          ...(seed === undefined ? {} : { seed }),
        });
      } catch (e) {
        if (isTransient(e)) return { ok: false, kind: 'transient', error: describe(e) };
        throw new AppError(
          'openai_failed',
          `OpenAI refused the request: ${describe(e)}. Check OPENAI_API_KEY, OPENAI_MODEL (${cfg.model}) and OPENAI_BASE_URL, or run with --generator templates.`,
          { cause: e },
        );
      }
      totals.promptTokens += completion.usage?.prompt_tokens ?? 0;
      totals.completionTokens += completion.usage?.completion_tokens ?? 0;
      const message = completion.choices[0]?.message;
      if (!message) return { ok: false, kind: 'format', error: 'the answer has no choices' };
      if (message.refusal) return { ok: false, kind: 'format', error: `the model refused: ${message.refusal.slice(0, 200)}` };
      const raw = message.content ?? '';
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        return { ok: false, kind: 'format', error: `the answer is not JSON: ${JSON.stringify(raw.slice(0, 80))}` };
      }
      const parsed = suggestionSchema.safeParse(json);
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        return { ok: false, kind: 'format', error: `the answer does not match the schema: ${i?.path.join('.') || '(root)'} ${i?.message ?? ''}`.trim() };
      }
      return { ok: true, suggestion: parsed.data, raw };
    },
    usage() {
      const cost = price ? (totals.promptTokens * price.input + totals.completionTokens * price.output) / 1_000_000 : 0;
      return { model: cfg.model, ...totals, estimatedCostUsd: Math.round(cost * 1_000_000) / 1_000_000, pricePerMillion: price };
    },
  };
}

function isTransient(e: unknown): boolean {
  if (e instanceof OpenAI.APIConnectionError) return true; // includes APIConnectionTimeoutError
  if (e instanceof OpenAI.APIError) return e.status === 408 || e.status === 409 || e.status === 429 || (e.status ?? 0) >= 500;
  return false;
}

function describe(e: unknown): string {
  if (e instanceof OpenAI.APIError) return `${e.status ?? 'no status'} ${e.message}`.slice(0, 300);
  return e instanceof Error ? e.message.slice(0, 300) : String(e).slice(0, 300);
}
