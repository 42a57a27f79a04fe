/**
 * A local peer of the Slack Web API for tests: answers the methods smsops uses
 * (chat.postMessage, chat.update, chat.postEphemeral, views.open, views.update, auth.test,
 * conversations.history / replies, files.getUploadURLExternal / completeUploadExternal,
 * and response_url posts), keeps the messages posted (with their metadata, returned only
 * with include_all_metadata, as Slack does), records every call with its parsed body, and
 * can be scripted to answer 429 with Retry-After, to be down (503, or connection refused),
 * to lose the answer to a post it carried out, or to lack the history scopes. Reached
 * through SLACK_API_URL.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  method: string;
  body: Record<string, unknown>;
  at: number;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  /** The bot that posted it (each bot token is one bot); none for a person's message. */
  bot_id?: string;
  thread_ts?: string;
  text: string;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /** A file shared into the conversation (files.completeUploadExternal). */
  files?: { id: string; name: string }[];
}

export interface SlackPeer {
  /** Messages posted (chat.postMessage), in order. */
  readonly messages: SlackMessage[];
  /** Without the history scopes, conversations.history and replies answer missing_scope. */
  setHistoryScopes(granted: boolean): void;
  /** The next `times` chat.postMessage calls are carried out, and their answer is lost (the connection drops). */
  loseAnswers(times: number): void;
  /** Base URL for SLACK_API_URL (…/api). */
  readonly apiUrl: string;
  readonly origin: string;
  readonly calls: SlackCall[];
  callsTo(method: string): SlackCall[];
  /** Posts received on response_url addresses handed out by responseUrl(). */
  readonly responses: { id: string; body: Record<string, unknown> }[];
  responseUrl(id?: string): string;
  /** The next `times` calls to `method` answer 429 with Retry-After: `retryAfterSeconds`. */
  rateLimit(method: string, times: number, retryAfterSeconds: number): void;
  /** '503': every API call answers 503; 'refused': the port stops accepting connections; false: back up. */
  setDown(mode: false | '503' | 'refused'): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

/** A bot token belongs to one bot: its id, derived from the token (a person's xoxp- token has none). */
function botIdOf(authorization: string | undefined): string | undefined {
  const token = /^Bearer (xoxb-\S+)$/.exec(authorization ?? '')?.[1];
  return token && `B${createHash('sha256').update(token).digest('hex').slice(0, 8).toUpperCase()}`;
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    out[k] = /^[[{]/.test(v) ? safeJson(v) : v;
  }
  return out;
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

export async function startSlackPeer(): Promise<SlackPeer> {
  const calls: SlackCall[] = [];
  const responses: { id: string; body: Record<string, unknown> }[] = [];
  const limits = new Map<string, { times: number; retryAfter: number }>();
  let down: false | '503' | 'refused' = false;
  const messages: SlackMessage[] = [];
  let historyScopes = true;
  let answersToLose = 0;
  const fileNames = new Map<string, string>();
  /** A page of `list` after `oldest` (when given) from the cursor (an offset), as Slack pages: next_cursor until the end. */
  const page = (all: SlackMessage[], body: Record<string, unknown>) => {
    const list = body.oldest === undefined ? all : all.filter((m) => Number(m.ts) > Number(body.oldest));
    const from = Number(body.cursor ?? 0);
    const limit = Number(body.limit ?? 100);
    const withMetadata = body.include_all_metadata === true || body.include_all_metadata === 'true';
    const shown = list.slice(from, from + limit).map(({ metadata, channel: _channel, ...m }) => ({
      type: 'message', ...m, ...(metadata && withMetadata ? { metadata } : {}),
    }));
    const next = from + limit < list.length ? String(from + limit) : '';
    return { ok: true, messages: shown, has_more: next !== '', response_metadata: { next_cursor: next } };
  };
  let seq = 0;
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;

  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://peer');
      const raw = Buffer.concat(chunks);
      if (url.pathname.startsWith('/response/')) {
        responses.push({ id: url.pathname.slice('/response/'.length), body: parseBody(raw.toString('utf8'), req.headers['content-type']) });
        return answer(res, 200, { ok: true });
      }
      if (url.pathname.startsWith('/upload/')) {
        calls.push({ method: 'upload', body: { id: url.pathname.slice(8), bytes: raw.length }, at: Date.now() });
        res.writeHead(200).end('OK');
        return;
      }
      const method = url.pathname.replace(/^\/api\//, '');
      if (down === '503') return answer(res, 503, { ok: false, error: 'service_unavailable' });
      const limit = limits.get(method);
      if (limit && limit.times > 0) {
        limit.times--;
        calls.push({ method: `${method}#429`, body: {}, at: Date.now() });
        return answer(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(limit.retryAfter) });
      }
      const body = parseBody(raw.toString('utf8'), req.headers['content-type']);
      calls.push({ method, body, at: Date.now() });
      const channel = body.channel ?? body.channel_id;
      const bot = botIdOf(req.headers.authorization);
      switch (method) {
        case 'auth.test':
          return answer(res, 200, { ok: true, url: 'https://peer.slack/', team: 'Peer', user: 'smsops', team_id: 'T1', user_id: 'UBOT', bot_id: bot });
        case 'chat.postMessage': {
          const m: SlackMessage = { channel: String(channel), ts: nextTs(), text: String(body.text ?? '') };
          if (bot) m.bot_id = bot;
          if (typeof body.thread_ts === 'string') m.thread_ts = body.thread_ts;
          if (body.metadata && typeof body.metadata === 'object') m.metadata = body.metadata as SlackMessage['metadata'];
          messages.push(m);
          if (answersToLose > 0) {
            answersToLose--;
            req.socket.destroy();
            return;
          }
          return answer(res, 200, { ok: true, channel, ts: m.ts, message: { text: body.text } });
        }
        case 'chat.update': {
          const m = messages.find((x) => x.channel === channel && x.ts === body.ts);
          if (m) m.text = String(body.text ?? '');
          return answer(res, 200, { ok: true, channel, ts: body.ts, text: body.text });
        }
        case 'conversations.history':
        case 'conversations.replies': {
          if (!historyScopes) return answer(res, 200, { ok: false, error: 'missing_scope', needed: 'channels:history', provided: 'chat:write' });
          const inChannel = messages.filter((m) => m.channel === channel);
          if (method === 'conversations.history') return answer(res, 200, page(inChannel.filter((m) => !m.thread_ts).reverse(), body));
          const thread = inChannel.filter((m) => m.ts === body.ts || m.thread_ts === body.ts);
          if (thread.length === 0) return answer(res, 200, { ok: false, error: 'thread_not_found' });
          return answer(res, 200, page(thread, body));
        }
        case 'chat.postEphemeral':
          return answer(res, 200, { ok: true, message_ts: nextTs() });
        case 'views.open':
        case 'views.update':
        case 'views.push':
          return answer(res, 200, { ok: true, view: { id: body.view_id ?? `V${++seq}`, hash: `h${seq}`, ...((body.view as object) ?? {}) } });
        case 'files.getUploadURLExternal': {
          const id = `F${++seq}`;
          fileNames.set(id, String(body.filename ?? ''));
          return answer(res, 200, { ok: true, upload_url: `${origin}/upload/${id}`, file_id: id });
        }
        case 'files.completeUploadExternal': {
          const files = (body.files as { id: string }[] | undefined) ?? [];
          // Shared into the channel (or thread) as a message of its own, as Slack does.
          if (typeof body.channel_id === 'string') {
            const m: SlackMessage = { channel: body.channel_id, ts: nextTs(), text: '', files: files.map((f) => ({ id: f.id, name: fileNames.get(f.id) ?? '' })) };
            if (bot) m.bot_id = bot;
            if (typeof body.thread_ts === 'string') m.thread_ts = body.thread_ts;
            messages.push(m);
          }
          return answer(res, 200, { ok: true, files });
        }
        default:
          return answer(res, 200, { ok: false, error: 'unknown_method' });
      }
    });
  };

  let server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  const closeServer = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });

  return {
    apiUrl: `${origin}/api`,
    origin,
    messages,
    setHistoryScopes(granted) {
      historyScopes = granted;
    },
    loseAnswers(times) {
      answersToLose = times;
    },
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    responses,
    responseUrl: (id = String(++seq)) => `${origin}/response/${id}`,
    rateLimit(method, times, retryAfterSeconds) {
      limits.set(method, { times, retryAfter: retryAfterSeconds });
    },
    async setDown(mode) {
      if (down === 'refused' && mode !== 'refused') {
        server = createServer(handler);
        await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      }
      if (mode === 'refused' && down !== 'refused') await closeServer();
      down = mode;
    },
    reset() {
      calls.length = 0;
      responses.length = 0;
      messages.length = 0;
      historyScopes = true;
      answersToLose = 0;
      limits.clear();
    },
    close: async () => {
      if (down !== 'refused') await closeServer();
    },
  };
}

/** Slack's request signature: v0 HMAC-SHA256 of `v0:{ts}:{rawBody}`. */
export function slackSignatureHeaders(secret: string, rawBody: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const sig = 'v0=' + createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex');
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': sig };
}

/** POSTs a form-encoded body to /slack/events signed as Slack signs it (or as told to, to forge). */
export async function postToSlackEndpoint(
  url: string,
  secret: string,
  form: Record<string, string>,
  opts: { timestamp?: number; signature?: string } = {},
): Promise<{ status: number; body: string }> {
  const raw = new URLSearchParams(form).toString();
  const headers = slackSignatureHeaders(secret, raw, opts.timestamp);
  if (opts.signature) headers['x-slack-signature'] = opts.signature;
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: raw });
  return { status: res.status, body: await res.text() };
}

/** A block_actions payload as Slack sends it for a button click in a message. */
export function blockActionsPayload(a: {
  user: { id: string; name: string };
  actionId: string;
  value: string;
  channel: string;
  messageTs: string;
  threadTs?: string;
  responseUrl?: string;
  blockId?: string;
}): Record<string, string> {
  return {
    payload: JSON.stringify({
      type: 'block_actions',
      user: { id: a.user.id, username: a.user.name, name: a.user.name, team_id: 'T1' },
      api_app_id: 'A1',
      token: 'legacy',
      container: { type: 'message', message_ts: a.messageTs, channel_id: a.channel, is_ephemeral: false, ...(a.threadTs ? { thread_ts: a.threadTs } : {}) },
      trigger_id: `${Date.now()}.1.trigger`,
      team: { id: 'T1', domain: 'peer' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: a.channel, name: 'campaigns' },
      message: { type: 'message', ts: a.messageTs, ...(a.threadTs ? { thread_ts: a.threadTs } : {}), text: '' },
      response_url: a.responseUrl ?? 'http://127.0.0.1:9/response/none',
      actions: [
        { type: 'button', action_id: a.actionId, block_id: a.blockId ?? `card_${a.value}_actions`, value: a.value, text: { type: 'plain_text', text: 'x' }, action_ts: `${Date.now() / 1000}` },
      ],
      state: { values: {} },
    }),
  };
}

/** A view_submission payload for a modal with one plain_text_input. */
export function viewSubmissionPayload(a: {
  user: { id: string; name: string };
  callbackId: string;
  privateMetadata: string;
  blockId: string;
  actionId: string;
  value: string;
}): Record<string, string> {
  return {
    payload: JSON.stringify({
      type: 'view_submission',
      team: { id: 'T1', domain: 'peer' },
      user: { id: a.user.id, username: a.user.name, name: a.user.name, team_id: 'T1' },
      api_app_id: 'A1',
      token: 'legacy',
      trigger_id: `${Date.now()}.2.trigger`,
      view: {
        id: 'V1',
        type: 'modal',
        callback_id: a.callbackId,
        private_metadata: a.privateMetadata,
        hash: 'h1',
        state: { values: { [a.blockId]: { [a.actionId]: { type: 'plain_text_input', value: a.value } } } },
      },
      response_urls: [],
      is_enterprise_install: false,
    }),
  };
}

/** A slash command as Slack posts it (form fields). */
export function slashCommandForm(a: { command: string; text: string; user: { id: string; name: string }; channel: string; responseUrl: string }): Record<string, string> {
  return {
    token: 'legacy',
    team_id: 'T1',
    team_domain: 'peer',
    channel_id: a.channel,
    channel_name: 'campaigns',
    user_id: a.user.id,
    user_name: a.user.name,
    command: a.command,
    text: a.text,
    api_app_id: 'A1',
    is_enterprise_install: 'false',
    response_url: a.responseUrl,
    trigger_id: `${Date.now()}.3.trigger`,
  };
}
