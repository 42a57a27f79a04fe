/**
 * A local OpenAI-compatible peer: POST /v1/chat/completions over real HTTP, answering in
 * the public wire format, so the real `openai` client is what the tests exercise.
 *
 * - Honours `response_format: { type: 'json_schema' }`: the default answer is an object
 *   with every property the schema requires (body greets the customer by the first_name
 *   found in the user message's data block).
 * - Scriptable: queued steps (429 with Retry-After, 500, delays past the client's timeout,
 *   malformed JSON, schema-violating output) are used first, in arrival order; or a
 *   responder function decides per request.
 * - Records every request (arrival time, headers, parsed body) so tests can assert what
 *   the model saw and when.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  /** Arrival time (Date.now()). */
  at: number;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: ChatRequest;
}

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  response_format?: { type: string; json_schema?: { name: string; schema: JsonSchema } };
  seed?: number;
  [k: string]: unknown;
}
type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; required?: string[] };

export type Step =
  /** An HTTP error, e.g. { status: 429, headers: { 'retry-after': '1' } }. */
  | { status: number; headers?: Record<string, string>; error?: string }
  /** Waits, then answers with `then` (default answer if absent). Past the client's timeout = a timeout. */
  | { delayMs: number; then?: Step }
  /** The assistant's content verbatim (malformed JSON, wrong shape ...). */
  | { content: string }
  /** The assistant's content as JSON. */
  | { json: unknown }
  /** The model declines. */
  | { refusal: string };

export type Responder = (req: ChatRequest, index: number) => Step | undefined;

export interface OpenAiPeer {
  /** Base URL for the client (OPENAI_BASE_URL), ending in /v1. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Queues steps used by the next requests, in arrival order. */
  script(...steps: Step[]): void;
  /** Decides requests the queue does not cover; return undefined for the default answer. */
  respond(fn: Responder | undefined): void;
  /** Added before every answer (simulated model latency). */
  latencyMs: number;
  reset(): void;
  close(): Promise<void>;
}

export const PEER_API_KEY = 'sk-test-peer';

export async function startOpenAiPeer(opts: { latencyMs?: number; apiKey?: string } = {}): Promise<OpenAiPeer> {
  const queue: Step[] = [];
  const requests: RecordedRequest[] = [];
  let responder: Responder | undefined;
  const apiKey = opts.apiKey ?? PEER_API_KEY;
  let seq = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500).end();
      }
    });
  });

  const peer: OpenAiPeer = {
    url: '',
    requests,
    latencyMs: opts.latencyMs ?? 0,
    script: (...steps) => void queue.push(...steps),
    respond: (fn) => void (responder = fn),
    reset() {
      queue.length = 0;
      requests.length = 0;
      responder = undefined;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      return sendError(res, 404, `Unknown request URL: ${req.method} ${path}`, 'invalid_request_error');
    }
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return sendError(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    let body: ChatRequest;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
    } catch {
      return sendError(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
    }
    const index = requests.length;
    requests.push({ at, method: req.method, path, headers: req.headers, body });
    const step = queue.shift() ?? responder?.(body, index);
    if (peer.latencyMs > 0) await sleep(peer.latencyMs);
    await answer(res, body, step);
  }

  async function answer(res: ServerResponse, body: ChatRequest, step: Step | undefined): Promise<void> {
    if (res.destroyed) return;
    if (step && 'delayMs' in step) {
      await sleep(step.delayMs);
      return answer(res, body, step.then);
    }
    if (step && 'status' in step) {
      return sendError(res, step.status, step.error ?? `Simulated ${step.status}`, step.status === 429 ? 'rate_limit_exceeded' : 'server_error', null, step.headers);
    }
    let content: string | null;
    let refusal: string | null = null;
    if (step && 'content' in step) content = step.content;
    else if (step && 'json' in step) content = JSON.stringify(step.json);
    else if (step && 'refusal' in step) {
      content = null;
      refusal = step.refusal;
    } else content = defaultContent(body);
    const promptChars = body.messages.reduce((a, m) => a + String(m.content ?? '').length, 0);
    const completionTokens = Math.ceil((content ?? refusal ?? '').length / 4);
    const promptTokens = Math.ceil(promptChars / 4);
    send(res, 200, {
      id: `chatcmpl-peer${++seq}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content, refusal }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    });
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  (peer as { url: string }).url = `http://127.0.0.1:${port}/v1`;
  return peer;
}

/** The data block the generator put in the last user message, parsed. */
export function customerData(req: ChatRequest): Record<string, unknown> | undefined {
  const user = [...req.messages].reverse().find((m) => m.role === 'user' && m.content.includes('<customer_data>'))
    ?? req.messages.find((m) => m.role === 'user' && m.content.includes('<customer_data>'));
  const m = /<customer_data>\n([\s\S]*)\n<\/customer_data>/.exec(user?.content ?? '');
  return m ? (JSON.parse(m[1]!) as Record<string, unknown>) : undefined;
}

function defaultContent(body: ChatRequest): string {
  if (body.response_format?.type !== 'json_schema') return 'Sure! Here is a friendly message for your customer.';
  const schema = body.response_format.json_schema?.schema ?? {};
  const first = customerData(body)?.first_name;
  const out: Record<string, unknown> = {};
  for (const key of schema.required ?? Object.keys(schema.properties ?? {})) {
    out[key] = key === 'body' ? `Hi ${typeof first === 'string' ? first : 'there'}! We miss you - come back and see us soon.` : `peer ${key}`;
  }
  return JSON.stringify(out);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type: string,
  code: string | null = null,
  headers: Record<string, string> = {},
): void {
  send(res, status, { error: { message, type, param: null, code } }, headers);
}

function send(res: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(json));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
