/**
 * The console's JSON API (mounted at /api behind the console guard). Handlers stay thin:
 * validate the input with zod, call the approval core / command router / SMS inbound
 * path, and turn the outcome into an HTTP answer.
 */
import express from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { activityChartAlt, activitySeries, renderActivityChartSvg } from '../../analytics/chart.ts';
import { AppError } from '../../errors.ts';
import type { Actor } from '../actor.ts';
import { approveAll, approveMessage, editMessage, rejectAll, rejectMessage, validateEdit, type ActionOutcome } from '../approvals.ts';
import { runCampaignCommand } from '../commands.ts';
import { loadDemoData } from './demo.ts';
import type { ConsoleEvents } from './events.ts';
import { listPhones, replyFromPhone } from './phones.ts';
import { getPost, isDatabaseEmpty, listChannelPosts, listThreadPosts } from './queries.ts';
import { CONSOLE_CHANNEL } from './surface.ts';

/** How many top-level posts GET /api/channel returns (the newest). */
const CHANNEL_PAGE = 200;

const actorName = z
  .string()
  .trim()
  .min(1)
  .max(40)
  // A name lands in audit rows and chat text: printable characters only.
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'must be printable text')
  .default('console');
const actionBody = z.object({ actor: actorName }).loose();
/**
 * The version of the card acted on (CardModel.version). Left out, the decision is refused as
 * made on an out-of-date card, with the current card in the answer: act on what was shown.
 */
const cardVersion = z.number().int().nonnegative().max(2_147_483_647).nullable().default(null);
const cardActionBody = z.object({ actor: actorName, version: cardVersion }).loose();
/** Approve all: the header's mark of the edits it had seen (BatchHeaderModel.editsThrough); left out, no edit counts as seen. */
const approveAllBody = z.object({ actor: actorName, editsThrough: z.string().regex(/^\d{1,20}$/, 'must be the batch header\'s editsThrough').nullable().default(null) }).loose();
const textBody = z.object({ actor: actorName, text: z.string().max(2000) });
const editBody = z.object({ actor: actorName, text: z.string().max(2000), version: cardVersion });
const commandBody = z.object({ actor: actorName, text: z.string().trim().max(2000) });
const replyBody = z.object({ actor: actorName, body: z.string().trim().min(1, 'write a reply').max(1600) });
const idParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const phoneParam = z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 phone number such as +14155550123');

const OUTCOME_STATUS: Record<Exclude<ActionOutcome, { ok: true }>['code'], number> = {
  not_authorized: 403,
  already_done: 409,
  locked: 409,
  invalid: 422,
  not_found: 404,
  stale: 409,
};

/** The console user: an approver on the console surface, named as they chose (default "console"). */
function actorFrom(body: { actor: string }): Actor {
  return { id: body.actor, name: body.actor, surface: 'console', isApprover: true };
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  throw new AppError('bad_request', `Invalid ${what}: ${where}${issue.message}.`);
}

function sendOutcome(res: express.Response, outcome: ActionOutcome): void {
  res.status(outcome.ok ? 200 : OUTCOME_STATUS[outcome.code]).json(outcome);
}

export function consoleApi(ctx: AppContext, events: ConsoleEvents): express.Router {
  const api = express.Router();
  api.use(express.json({ limit: '64kb' }));
  const q = ctx.db.pool;

  api.get('/channel', async (_req, res) => {
    const [posts, empty] = await Promise.all([listChannelPosts(q, CONSOLE_CHANNEL, CHANNEL_PAGE), isDatabaseEmpty(q)]);
    res.json({ ok: true, channel: CONSOLE_CHANNEL, posts, empty });
  });

  api.get('/threads/:id', async (req, res) => {
    const id = parse(idParam, req.params.id, 'thread id');
    const parent = await getPost(q, id);
    if (!parent || parent.threadId !== null) {
      res.status(404).json({ ok: false, code: 'not_found', message: `There is no thread ${id} in the console.` });
      return;
    }
    res.json({ ok: true, parent, posts: await listThreadPosts(q, id) });
  });

  // Decisions name the card version they were taken on; a stale one answers 409 with the current card.
  api.post('/messages/:id/approve', async (req, res) => {
    const body = parse(cardActionBody, req.body, 'request');
    sendOutcome(res, await approveMessage(ctx, actorFrom(body), parse(idParam, req.params.id, 'message id'), body.version));
  });

  api.post('/messages/:id/reject', async (req, res) => {
    const body = parse(cardActionBody, req.body, 'request');
    sendOutcome(res, await rejectMessage(ctx, actorFrom(body), parse(idParam, req.params.id, 'message id'), body.version));
  });

  api.post('/messages/:id/edit', async (req, res) => {
    const body = parse(editBody, req.body, 'edit');
    sendOutcome(res, await editMessage(ctx, actorFrom(body), parse(idParam, req.params.id, 'message id'), body.text, body.version));
  });

  // The edit dialog's live segment count and lint: checks a text without changing anything.
  api.post('/messages/:id/validate', async (req, res) => {
    const body = parse(textBody, req.body, 'text');
    res.json(await validateEdit(ctx, parse(idParam, req.params.id, 'message id'), body.text));
  });

  api.post('/batches/:id/approve-all', async (req, res) => {
    const body = parse(approveAllBody, req.body, 'request');
    const r = await approveAll(ctx, actorFrom(body), parse(idParam, req.params.id, 'batch id'), body.editsThrough);
    res.status(r.ok ? 200 : 404).json(r);
  });

  api.post('/batches/:id/reject-all', async (req, res) => {
    const body = parse(actionBody, req.body, 'request');
    const r = await rejectAll(ctx, actorFrom(body), parse(idParam, req.params.id, 'batch id'));
    res.status(r.ok ? 200 : 404).json(r);
  });

  api.post('/command', async (req, res) => {
    const body = parse(commandBody, req.body, 'command');
    const text = body.text.replace(/^\/campaign\b\s*/i, '');
    const reply = await runCampaignCommand(ctx, actorFrom(body), { text, channel: CONSOLE_CHANNEL });
    res.json({ ok: true, reply });
  });

  api.get('/phones', async (_req, res) => {
    res.json({ ok: true, phones: await listPhones(ctx) });
  });

  api.post('/phones/:phone/reply', async (req, res) => {
    const phone = parse(phoneParam, req.params.phone, 'phone');
    const body = parse(replyBody, req.body, 'reply');
    const result = await replyFromPhone(ctx, phone, body.body);
    events.publish({ type: 'phones' });
    res.json({ ok: true, ...result });
  });

  // The 14-day activity chart, as an SVG the page shows in an <img> (images run no scripts).
  api.get('/activity', async (_req, res) => {
    const series = await activitySeries(q, { days: 14, now: ctx.clock.now(), timezone: ctx.config.campaignDefaults.timezone });
    const svg = renderActivityChartSvg(series);
    res.json({ ok: true, alt: activityChartAlt(series), svgBase64: Buffer.from(svg).toString('base64') });
  });

  api.post('/demo', async (req, res) => {
    const body = parse(actionBody, req.body, 'request');
    const result = await loadDemoData(ctx, body.actor);
    res.status(result.ok ? 200 : 409).json(result);
  });

  api.get('/events', (_req, res) => {
    events.stream(res);
  });

  api.use((_req, res) => {
    res.status(404).json({ ok: false, code: 'not_found', message: 'No such console API route.' });
  });
  // Our own failures answer with their sentence; anything else goes to the server's 500 handler.
  api.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (err instanceof AppError) {
      const status = err.code === 'bad_request' ? 400 : err.code === 'not_available' ? 503 : 422;
      res.status(status).json({ ok: false, code: err.code, message: err.message });
      return;
    }
    if ((err as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json({ ok: false, code: 'bad_request', message: 'The request body is not valid JSON.' });
      return;
    }
    next(err);
  });
  return api;
}
