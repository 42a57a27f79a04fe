/**
 * A local peer of Discord's REST API v10, enough for the surface: channel messages
 * (JSON or multipart with files), threads started from a message, interaction callbacks,
 * interaction webhooks (@original and follow-ups) and command registration. It answers
 * with Discord's shapes and error codes, records every call, and can be told to answer
 * the next matching request with a 429 carrying Discord's real rate-limit headers so the
 * real client (@discordjs/rest) has to wait and retry.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  /** Path after /api/v10, e.g. /channels/123/messages */
  path: string;
  /** JSON body (for multipart: the parsed payload_json). */
  body: unknown;
  files: { field: string; name: string; size: number; contentType: string }[];
  authorized: boolean;
  /** Status this peer answered with. */
  status: number;
}

export interface StoredMessage {
  id: string;
  channel_id: string;
  content?: string;
  embeds?: unknown[];
  components?: unknown[];
  attachments?: unknown[];
  nonce?: string;
  edits: number;
}

interface RateLimitRule {
  method: string;
  path: RegExp;
  remaining: number;
  retryAfterSeconds: number;
}

export interface DiscordPeer {
  /** Base for the REST client's `api` option (DISCORD_API_URL), e.g. http://127.0.0.1:PORT/api */
  readonly api: string;
  readonly token: string;
  readonly calls: RecordedCall[];
  readonly messages: Map<string, StoredMessage>;
  /** Commands registered per scope ('global' or a guild id). */
  readonly commands: Map<string, unknown[]>;
  /** Answer the next `times` requests matching method + path with 429 (retry after `retryAfterSeconds`). */
  rateLimit(rule: { method: string; path: RegExp; times?: number; retryAfterSeconds?: number }): void;
  /** Calls whose method and path match. */
  callsTo(method: string, path: RegExp): RecordedCall[];
  reset(): void;
  close(): Promise<void>;
}

let snowflake = 1_300_000_000_000_000_000n;
function nextId(): string {
  snowflake += 1n + BigInt(Math.floor(Math.random() * 1000));
  return snowflake.toString();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

export async function startDiscordPeer(opts: { token?: string; applicationId?: string } = {}): Promise<DiscordPeer> {
  const token = opts.token ?? 'test-bot-token';
  const calls: RecordedCall[] = [];
  const messages = new Map<string, StoredMessage>();
  const threads = new Map<string, { id: string; parent_id: string; name: string }>();
  const commands = new Map<string, unknown[]>();
  const answered = new Set<string>();
  const rules: RateLimitRule[] = [];

  async function parse(req: IncomingMessage): Promise<{ body: unknown; files: RecordedCall['files'] }> {
    const raw = await readBody(req);
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('multipart/form-data')) {
      const form = await new Request('http://peer/', { method: 'POST', headers: { 'content-type': type }, body: raw }).formData();
      const files: RecordedCall['files'] = [];
      let body: unknown = {};
      for (const [field, value] of form.entries()) {
        if (typeof value === 'string') {
          if (field === 'payload_json') body = JSON.parse(value);
        } else {
          files.push({ field, name: value.name, size: value.size, contentType: value.type });
        }
      }
      return { body, files };
    }
    return { body: raw.length ? JSON.parse(raw.toString('utf8')) : undefined, files: [] };
  }

  function createMessage(channelId: string, body: Record<string, unknown>): { message: StoredMessage; created: boolean } {
    // enforce_nonce: the same nonce from the same author in the last minutes returns the first message.
    if (body.enforce_nonce && typeof body.nonce === 'string') {
      for (const m of messages.values()) {
        if (m.channel_id === channelId && m.nonce === body.nonce) return { message: m, created: false };
      }
    }
    const m: StoredMessage = {
      id: nextId(),
      channel_id: channelId,
      content: body.content as string | undefined,
      embeds: (body.embeds as unknown[]) ?? [],
      components: (body.components as unknown[]) ?? [],
      attachments: (body.attachments as unknown[]) ?? [],
      nonce: body.nonce as string | undefined,
      edits: 0,
    };
    messages.set(m.id, m);
    return { message: m, created: true };
  }

  function editMessage(m: StoredMessage, body: Record<string, unknown>): StoredMessage {
    for (const k of ['content', 'embeds', 'components', 'attachments'] as const) {
      if (k in body) (m as unknown as Record<string, unknown>)[k] = body[k];
    }
    m.edits++;
    return m;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://peer');
    const method = req.method ?? 'GET';
    const prefix = '/api/v10';
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname;
    const { body, files } = await parse(req);
    const authorized = req.headers.authorization === `Bot ${token}`;
    const call: RecordedCall = { method, path, body, files, authorized, status: 0 };
    calls.push(call);
    const reply = (status: number, payload?: unknown, headers?: Record<string, string>) => {
      call.status = status;
      send(res, status, payload, headers);
    };

    const rule = rules.find((r) => r.method === method && r.path.test(path) && r.remaining > 0);
    if (rule) {
      rule.remaining--;
      const after = rule.retryAfterSeconds;
      return reply(
        429,
        { message: 'You are being rate limited.', retry_after: after, global: false },
        {
          'retry-after': String(Math.ceil(after)),
          'x-ratelimit-limit': '5',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': ((Date.now() + after * 1000) / 1000).toFixed(3),
          'x-ratelimit-reset-after': after.toFixed(3),
          'x-ratelimit-bucket': 'peer-bucket-' + path.split('/')[1],
          'x-ratelimit-scope': 'user',
        },
      );
    }

    const needsAuth = !path.startsWith('/interactions/') && !path.startsWith('/webhooks/');
    if (needsAuth && !authorized) return reply(401, { message: '401: Unauthorized', code: 0 });
    const b = (body ?? {}) as Record<string, unknown>;
    let m: RegExpExecArray | null;

    if (method === 'POST' && (m = /^\/channels\/(\d+)\/messages$/.exec(path))) {
      const { message } = createMessage(m[1]!, b);
      return reply(200, message);
    }
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path))) {
      const found = messages.get(m[2]!);
      if (!found || found.channel_id !== m[1]) return reply(404, { message: 'Unknown Message', code: 10008 });
      if (method === 'GET') return reply(200, found);
      if (method === 'PATCH') return reply(200, editMessage(found, b));
    }
    if (method === 'POST' && (m = /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/.exec(path))) {
      const parent = messages.get(m[2]!);
      if (!parent || parent.channel_id !== m[1]) return reply(404, { message: 'Unknown Message', code: 10008 });
      if (threads.has(parent.id)) {
        return reply(400, { message: 'A thread has already been created for this message', code: 160004 });
      }
      // A thread started from a message has the message's id.
      const thread = { id: parent.id, parent_id: m[1]!, name: String(b.name ?? ''), type: 11 };
      threads.set(thread.id, thread);
      return reply(201, thread);
    }
    if (method === 'POST' && (m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path))) {
      if (answered.has(m[1]!)) {
        return reply(400, { message: 'Interaction has already been acknowledged.', code: 40060 });
      }
      answered.add(m[1]!);
      return reply(204);
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/.exec(path)) && method === 'PATCH') {
      return reply(200, { id: nextId(), ...b });
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)$/.exec(path)) && method === 'POST') {
      return reply(200, { id: nextId(), ...b });
    }
    if (method === 'PUT' && (m = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path))) {
      const list = (Array.isArray(body) ? body : []).map((c) => ({ id: nextId(), application_id: m![1], ...(c as object) }));
      commands.set(m[2] ?? 'global', list);
      return reply(200, list);
    }
    return reply(404, { message: '404: Not Found', code: 0 });
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => send(res, 500, { message: String(e), code: 0 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  return {
    api: `http://127.0.0.1:${port}/api`,
    token,
    calls,
    messages,
    commands,
    rateLimit(r) {
      rules.push({ method: r.method, path: r.path, remaining: r.times ?? 1, retryAfterSeconds: r.retryAfterSeconds ?? 1 });
    },
    callsTo(method, path) {
      return calls.filter((c) => c.method === method && path.test(c.path));
    },
    reset() {
      calls.length = 0;
      rules.length = 0;
    },
    close() {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
