/**
 * A local peer of Twilio's REST API (the parts smsops uses), speaking the public wire
 * format so the real `twilio` client can be pointed at it (TWILIO_API_URL):
 *   POST /2010-04-01/Accounts/{Sid}/Messages.json   (basic auth, form-encoded)
 *   GET  /2010-04-01/Accounts/{Sid}/Messages.json?To=...&DateSent>=...
 * Faults are scriptable per call or per recipient: 500, 429, hang (accepted, never
 * answered), drop (accepted, connection destroyed), 21610 (opted out), 21211 (invalid To).
 * Every request is recorded; `messages` is what Twilio would have accepted. `keptText`
 * stores texts as a Messaging Service may keep them: Smart Encoding (curly quotes and long
 * dashes sent plain) or content retention "discard" (no text kept); `answer` adds a TwiML
 * answer to an inbound SMS (direction outbound-reply).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TwilioSmsProvider } from '../../src/sms/twilio.ts';

export type TwilioFault = 'http500' | 'http429' | 'hang' | 'drop' | 'optout21610' | 'invalid21211';

export interface PeerMessage {
  sid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  statusCallback: string | null;
  dateCreated: Date;
  direction: 'outbound-api' | 'outbound-reply';
  /** The text as it was posted (`body` is the text as kept and listed: see keptText). */
  submitted: string;
  /** The status it is listed with: queued, until a test gives it its carrier's outcome. */
  status?: string;
}

/** Twilio's Smart Encoding: a part of its documented table (quotes, apostrophes, dashes, fractions, spaces). */
const SMART_ENCODING: [RegExp, string][] = [
  [/[\u00AB\u00BB\u201C\u201D\u02BA\u02EE\u201F\u275D\u275E\u301D\u301E\uFF02]/g, '"'],
  [/[\u2018\u2019\u02BB\u02C8\u02BC\u02BD\u02B9\u201B\uFF07\u00B4\u02CA\u0060\u02CB\u275B\u275C]/g, "'"],
  [/[\u2013\u2014\u2015\u2010\u2022\u2043\uFE63\uFF0D]/g, '-'],
  [/\u00BD/g, '1/2'],
  [/\u00BC/g, '1/4'],
  [/\u00BE/g, '3/4'],
  [/[\u00F7\u2044\u2215\uFF0F]/g, '/'],
  [/\u2026/g, '...'],
  [/[\u00A0\u2002\u2003\u2009\u202F]/g, ' '],
];

function smartEncoded(text: string): string {
  return SMART_ENCODING.reduce((t, [re, to]) => t.replace(re, to), text);
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  params: Record<string, string>;
  authorized: boolean;
}

/** The messaging service every test sends through, and where its status callbacks would go. */
export const PEER_MESSAGING_SERVICE = 'MG0001';
export const PEER_STATUS_CALLBACK = 'https://smsops.example.com/twilio/status';

/**
 * Our Twilio provider (the real `twilio` client) against a peer at `url`: a child process
 * knows the peer only by its url and credentials (see TwilioPeer.provider).
 */
export function peerProvider(p: { url: string; accountSid: string; authToken: string; timeoutMs: number }): TwilioSmsProvider {
  return new TwilioSmsProvider({
    accountSid: p.accountSid, authToken: p.authToken, messagingServiceSid: PEER_MESSAGING_SERVICE, apiUrl: p.url,
    statusCallbackUrl: PEER_STATUS_CALLBACK, timeoutMs: p.timeoutMs,
  });
}

export class TwilioPeer {
  readonly messages: PeerMessage[] = [];
  readonly requests: RecordedRequest[] = [];
  private readonly queued: TwilioFault[] = [];
  private readonly byRecipient = new Map<string, TwilioFault>();
  private readonly hanging = new Set<ServerResponse>();
  private server!: Server;
  url = '';
  /** How the text of each accepted message is kept (and listed). */
  keptText: 'as_sent' | 'smart_encoded' | 'discarded' = 'as_sent';

  constructor(
    readonly accountSid: string,
    readonly authToken: string,
    private readonly opts: { now?: () => Date; latencyMs?: number } = {},
  ) {}

  /** The next create call(s) fail like this, in order. */
  failNext(...faults: TwilioFault[]): void {
    this.queued.push(...faults);
  }

  /** A TwiML answer to an inbound SMS from `to` (what a HELP gets), as Twilio lists it. */
  answer(to: string, body: string): void {
    this.messages.push({ sid: `SM${randomBytes(16).toString('hex')}`, to, from: null, messagingServiceSid: null, body, statusCallback: null, dateCreated: this.now(), direction: 'outbound-reply', submitted: body });
  }

  /** Every create call to `to` fails like this (until cleared with null). */
  failFor(to: string, fault: TwilioFault | null): void {
    if (fault) this.byRecipient.set(to, fault);
    else this.byRecipient.delete(to);
  }

  /** Our Twilio provider against this peer (started). */
  provider(opts: { timeoutMs: number }): TwilioSmsProvider {
    return peerProvider({ url: this.url, accountSid: this.accountSid, authToken: this.authToken, timeoutMs: opts.timeoutMs });
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.socket?.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://peer');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    const auth = req.headers.authorization ?? '';
    const expected = 'Basic ' + Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64');
    const authorized = auth === expected;
    this.requests.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), params, authorized });
    if (this.opts.latencyMs) await new Promise((r) => setTimeout(r, this.opts.latencyMs));

    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(url.pathname);
    if (!m) return json(res, 404, { code: 20404, message: 'The requested resource was not found', status: 404 });
    if (!authorized || m[1] !== this.accountSid) {
      return json(res, 401, { code: 20003, message: 'Authentication Error - invalid username', status: 401 });
    }
    if (req.method === 'POST') return this.create(params, res);
    if (req.method === 'GET') return this.list(url.searchParams, res);
    return json(res, 405, { code: 20004, message: 'Method not allowed', status: 405 });
  }

  private create(p: Record<string, string>, res: ServerResponse): void {
    if (!p.To || !p.Body || (!p.From && !p.MessagingServiceSid)) {
      return json(res, 400, { code: 21604, message: "A 'To' phone number, 'Body' and a sender are required.", status: 400 });
    }
    const fault = this.queued.shift() ?? this.byRecipient.get(p.To);
    if (fault === 'http500') return json(res, 500, { code: 20500, message: 'Internal Server Error', status: 500 });
    if (fault === 'http429') return json(res, 429, { code: 20429, message: 'Too Many Requests', status: 429 });
    if (fault === 'optout21610') {
      return json(res, 400, { code: 21610, message: 'Attempt to send to unsubscribed recipient', status: 400, more_info: 'https://www.twilio.com/docs/errors/21610' });
    }
    if (fault === 'invalid21211') {
      return json(res, 400, { code: 21211, message: `The 'To' number ${p.To} is not a valid phone number.`, status: 400 });
    }
    const msg: PeerMessage = {
      sid: `SM${randomBytes(16).toString('hex')}`,
      to: p.To,
      from: p.From ?? null,
      messagingServiceSid: p.MessagingServiceSid ?? null,
      body: this.keptText === 'discarded' ? '' : this.keptText === 'smart_encoded' ? smartEncoded(p.Body) : p.Body,
      statusCallback: p.StatusCallback ?? null,
      dateCreated: this.now(),
      direction: 'outbound-api',
      submitted: p.Body,
    };
    this.messages.push(msg);
    if (fault === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (fault === 'drop') {
      res.socket?.destroy();
      return;
    }
    json(res, 201, this.resource(msg));
  }

  private list(q: URLSearchParams, res: ServerResponse): void {
    const to = q.get('To');
    const since = q.get('DateSent>');
    const sinceDay = since ? new Date(since.slice(0, 10) + 'T00:00:00Z').getTime() : -Infinity;
    const found = this.messages
      .filter((m) => (!to || m.to === to) && m.dateCreated.getTime() >= sinceDay)
      .sort((a, b) => b.dateCreated.getTime() - a.dateCreated.getTime());
    const base = `/2010-04-01/Accounts/${this.accountSid}/Messages.json`;
    json(res, 200, {
      messages: found.map((m) => this.resource(m)),
      end: Math.max(0, found.length - 1),
      first_page_uri: `${base}?PageSize=50&Page=0`,
      next_page_uri: null,
      page: 0,
      page_size: 50,
      previous_page_uri: null,
      start: 0,
      uri: `${base}?PageSize=50&Page=0`,
    });
  }

  private resource(m: PeerMessage) {
    const date = m.dateCreated.toUTCString().replace('GMT', '+0000');
    return {
      sid: m.sid,
      account_sid: this.accountSid,
      to: m.to,
      from: m.from,
      messaging_service_sid: m.messagingServiceSid,
      body: m.body,
      status: m.status ?? 'queued',
      num_segments: '1',
      direction: m.direction,
      date_created: date,
      date_updated: date,
      date_sent: date,
      error_code: null,
      error_message: null,
      price: null,
      price_unit: 'USD',
      api_version: '2010-04-01',
      uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${m.sid}.json`,
      subresource_uris: {},
    };
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Signs a webhook exactly as Twilio does: HMAC-SHA1 over the URL plus the sorted POST params, base64. */
export async function twilioSignature(authToken: string, url: string, params: Record<string, string>): Promise<string> {
  const { createHmac } = await import('node:crypto');
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf-8')).digest('base64');
}
