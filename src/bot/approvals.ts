/**
 * The approval core: approve, reject, edit, approve all, reject all. Platform-agnostic
 * (every surface's handlers call these), authorised (Actor.isApprover), audited (status
 * changes through the guarded transition, edits with before/after text), and idempotent
 * under double clicks: the second of two concurrent clicks moves nothing and is told who
 * was first. Each action enqueues the card/header re-render in the same transaction.
 *
 * A decision covers exactly the text the person was shown: approve, reject and edit take
 * the version of the card (or edit form) they acted on and are refused as `stale` when the
 * message has changed since (its card is re-rendered with the current text); Approve all
 * takes the latest edit its header had seen and holds back messages edited after it.
 */
import { effectiveSettings } from '../campaigns/settings.ts';
import type { AppContext } from '../context.ts';
import type { PoolClient } from 'pg';
import { lockCampaignOfBatch, lockCampaignOfMessage, setCampaignStatus, type CampaignRow } from '../db/queries/campaigns.ts';
import { batchMessageIds, editedAfter, getBatchRow, getCardRow, getCardRows, type CardRow } from '../db/queries/cardRows.ts';
import { editMessageBody, editedSince } from '../db/queries/messageEdits.ts';
import { NOW, transitionMessage, transitionMessages } from '../db/queries/transition.ts';
import type { LintFinding } from '../domain/lintFinding.ts';
import { LOCKED_STATUSES, type MessageStatus } from '../domain/messageStatus.ts';
import { analyzeSms } from '../domain/smsSegments.ts';
import type { Actor } from './actor.ts';
import { cardFromRow } from './cards.ts';
import type { CardModel } from './chatSurface.ts';
import { lintMessage } from '../generator/lint.ts';
import { planApprovedMessages } from '../scheduler/planner.ts';
import { enqueueProgress } from '../scheduler/posts.ts';
import { cardSurfaces, enqueueCardChanges, ringOutbox } from './notify.ts';

export type ActionOutcome =
  | { ok: true; message: string; card: CardModel }
  | { ok: false; code: 'not_authorized' | 'already_done' | 'locked' | 'invalid' | 'not_found'; message: string; errors?: string[] }
  /** The message changed since the card (or form) the person acted on was shown; `card` is the current one. */
  | { ok: false; code: 'stale'; message: string; card: CardModel };

type RefusalCode = Exclude<Extract<ActionOutcome, { ok: false }>['code'], 'stale'>;

/** Statuses a decision (approve/reject) can still be taken in. */
const DECIDABLE: readonly MessageStatus[] = ['suggested', 'needs_review'];
/** Statuses whose text may still change. */
const EDITABLE: readonly MessageStatus[] = ['suggested', 'approved', 'needs_review'];
/** Longest text a provider accepts in one message (Twilio: 1,600 characters). */
const MAX_BODY_CHARS = 1600;
/** Unfilled template slots: {{first_name}}, {name}, [FirstName], <name>. */
const PLACEHOLDER = /\{\{[^}]*\}\}|\{\s*[A-Za-z_][\w ]*\}|\[\s*(first[_ ]?name|last[_ ]?name|name|customer[_ ]?name|business|offer|link)\s*\]|<\s*(first[_ ]?name|name)\s*>/i;

function refuse(code: RefusalCode, message: string, errors?: string[]): ActionOutcome {
  return errors ? { ok: false, code, message, errors } : { ok: false, code, message };
}

const notApprover = (actor: Actor) =>
  refuse('not_authorized', `Sorry ${actor.name}, only approvers can act on these messages. Ask an admin to add you to the approvers.`);

/** Why a refused transition did not move, in words for the person who clicked. */
function alreadyDone(status: MessageStatus | null, by: string | null): ActionOutcome {
  if (status === null) return refuse('not_found', 'That message no longer exists.');
  if (status === 'approved') return refuse('already_done', `Already approved by ${by ?? 'someone else'}.`);
  if (status === 'rejected') return refuse('already_done', `Already rejected by ${by ?? 'someone else'}.`);
  return refuse('locked', `This message is ${status.replace('_', ' ')} and can no longer be changed.`);
}

/**
 * A fenced decision that did not move: someone else decided first (told who), or the
 * message changed between reading it and deciding (stale, its card re-rendered).
 */
async function movedOnMeanwhile(
  c: PoolClient,
  ctx: AppContext,
  messageId: number,
  moved: { status: MessageStatus | null; by: string | null },
): Promise<ActionOutcome> {
  const row = moved.status && DECIDABLE.includes(moved.status) ? await getCardRow(c, messageId) : undefined;
  return row ? stale(c, ctx, row, STALE_CARD_STATE) : alreadyDone(moved.status, moved.by);
}

/** Why nothing of this campaign may be approved any more (cancelled or completed), or null. */
function closedToApprovals(campaign: CampaignRow): string | null {
  if (campaign.status !== 'cancelled' && campaign.status !== 'completed') return null;
  return `Campaign "${campaign.name}" is ${campaign.status}; its messages can no longer be approved.`;
}

/** Activates a draft campaign on its first approval, and plans send slots (same transaction). */
async function afterApproval(c: PoolClient, ctx: AppContext, actor: Actor, campaignId: number): Promise<void> {
  await setCampaignStatus(c, { id: campaignId, from: ['draft'], to: 'active', actor: actor.name, surface: actor.surface });
  await planApprovedMessages(c, ctx, campaignId);
}

/**
 * Re-renders the cards of messages a person changed and, when `counts` changed (an approval
 * or a rejection), their batches' progress, which counts what waits for approval. A draft
 * campaign (nothing approved yet) has no progress to show.
 */
async function changed(c: PoolClient, ctx: AppContext, ids: number[], opts: { counts: boolean }): Promise<CardRow[]> {
  const rows = await getCardRows(c, ids);
  await enqueueCardChanges(c, rows.map(cardChange));
  if (opts.counts) await enqueueProgress(c, rows.filter((r) => r.campaign_status !== 'draft').map((r) => r.batch_id), ctx.clock.now());
  return rows;
}

function cardChange(r: CardRow) {
  return { messageId: Number(r.id), version: r.version, batchId: r.batch_id, surfaces: cardSurfaces(r.chat_surface, r.card_refs) };
}

/**
 * Renders the cards again from current state (their renders at this version may have been
 * delivered already), so whoever acted on an out-of-date card sees the current one.
 */
async function refreshCards(c: PoolClient, rows: CardRow[]): Promise<void> {
  await enqueueCardChanges(c, rows.map(cardChange), { rearm: true });
}

/** The refusal of a decision taken on an out-of-date card; the card is re-rendered with the current text. */
async function stale(c: PoolClient, ctx: AppContext, row: CardRow, message: string): Promise<ActionOutcome> {
  await refreshCards(c, [row]);
  return { ok: false, code: 'stale', message, card: cardFromRow(ctx, row) };
}

const STALE_CARD = (verb: string) => `The text changed since this card was shown: check the updated card and ${verb} again.`;
const STALE_CARD_STATE = 'This message changed since this card was shown: check the updated card and try again.';
const OLD_CARD = 'This card is out of date: it has been refreshed with the current text. Check it and try again.';
const STALE_FORM = 'Someone changed this message while you were editing it: close this form and press Edit again to see the current text.';
const OLD_FORM = 'This edit form is out of date: close it and press Edit again to see the current text.';

/** Why a card shown at `shownVersion` no longer matches `row` (null = it still does). */
async function staleCard(c: PoolClient, row: CardRow, shownVersion: number | null, verb: 'approve' | 'reject'): Promise<string | null> {
  if (shownVersion === null) return OLD_CARD;
  if (row.version === shownVersion) return null;
  // Only the state may have moved (e.g. back to review), or the text itself: say which.
  return (await editedSince(c, Number(row.id), shownVersion)) ? STALE_CARD(verb) : STALE_CARD_STATE;
}

/**
 * suggested/needs_review -> approved (approved_by/at), then plans its send slot in the same
 * transaction. `shownVersion` is the version of the card the approver clicked (null when
 * the click did not say: a card rendered before versions were carried); anything else than
 * the current version is refused as stale, so an approval never covers a text nobody showed.
 */
export async function approveMessage(ctx: AppContext, actor: Actor, messageId: number, shownVersion: number | null): Promise<ActionOutcome> {
  if (!actor.isApprover) return notApprover(actor);
  const out = await ctx.db.tx(async (c): Promise<ActionOutcome> => {
    // The campaign before the message, as a cancel takes them: a cancel that got there first has
    // committed, and is seen here; one that comes later waits for this approval, then cancels it.
    const campaign = await lockCampaignOfMessage(c, messageId);
    const row = campaign && (await getCardRow(c, messageId));
    if (!campaign || !row) return refuse('not_found', `Message ${messageId} does not exist.`);
    const closed = closedToApprovals(campaign);
    if (closed) return refuse('locked', closed);
    if (!DECIDABLE.includes(row.status)) return alreadyDone(row.status, row.status === 'rejected' ? row.rejected_by : row.approved_by);
    const outdated = await staleCard(c, row, shownVersion, 'approve');
    if (outdated) return stale(c, ctx, row, outdated);
    if ((row.lint ?? []).some((f) => f.severity === 'error')) {
      return refuse('invalid', 'This message has lint errors: edit it first, then approve.', row.lint.filter((f) => f.severity === 'error').map((f) => f.message));
    }
    const moved = await transitionMessage(c, {
      id: messageId,
      from: DECIDABLE,
      to: 'approved',
      actor: actor.name,
      surface: actor.surface,
      version: row.version,
      set: { approved_by: actor.name, approved_at: NOW, scheduled_send_time: null },
      note: { actorId: actor.id, cardVersion: row.version },
    });
    if (!moved.ok) return movedOnMeanwhile(c, ctx, messageId, moved);
    await afterApproval(c, ctx, actor, row.campaign_id);
    const [after] = await changed(c, ctx, [messageId], { counts: true });
    return { ok: true, message: `Approved by ${actor.name}.`, card: cardFromRow(ctx, after!) };
  });
  if (out.ok || out.code === 'stale') ringOutbox();
  return out;
}

/** suggested/needs_review -> rejected (rejected_by/at), fenced like an approval by the version the card showed. */
export async function rejectMessage(ctx: AppContext, actor: Actor, messageId: number, shownVersion: number | null): Promise<ActionOutcome> {
  if (!actor.isApprover) return notApprover(actor);
  const out = await ctx.db.tx(async (c): Promise<ActionOutcome> => {
    const row = await getCardRow(c, messageId);
    if (!row) return refuse('not_found', `Message ${messageId} does not exist.`);
    if (!DECIDABLE.includes(row.status)) return alreadyDone(row.status, row.status === 'rejected' ? row.rejected_by : row.approved_by);
    const outdated = await staleCard(c, row, shownVersion, 'reject');
    if (outdated) return stale(c, ctx, row, outdated);
    const moved = await transitionMessage(c, {
      id: messageId,
      from: DECIDABLE,
      to: 'rejected',
      actor: actor.name,
      surface: actor.surface,
      version: row.version,
      set: { rejected_by: actor.name, rejected_at: NOW },
      note: { actorId: actor.id, cardVersion: row.version },
    });
    if (!moved.ok) return movedOnMeanwhile(c, ctx, messageId, moved);
    const [after] = await changed(c, ctx, [messageId], { counts: true });
    return { ok: true, message: `Rejected by ${actor.name}.`, card: cardFromRow(ctx, after!) };
  });
  if (out.ok || out.code === 'stale') ringOutbox();
  return out;
}

/**
 * Checks a proposed text without changing anything: empty, too long, too many segments,
 * unfilled placeholders, and the generator's lint errors. `info` describes the text.
 */
export async function validateEdit(
  ctx: AppContext,
  messageId: number,
  text: string,
): Promise<{ ok: boolean; errors: string[]; info: { segments: number; encoding: string; lint: LintFinding[] } }> {
  const sms = analyzeSms(text);
  const info = { segments: sms.segments, encoding: sms.encoding as string, lint: [] as LintFinding[] };
  const row = await getCardRow(ctx.db.pool, messageId);
  if (!row) return { ok: false, errors: [`Message ${messageId} does not exist.`], info };
  const settings = effectiveSettings(ctx.config, row.campaign_settings);
  const errors: string[] = [];
  const body = text.trim();
  if (!body) errors.push('The message is empty: write the text to send.');
  if (text.length > MAX_BODY_CHARS) errors.push(`The message is ${text.length} characters; the most an SMS can carry is ${MAX_BODY_CHARS}.`);
  if (sms.segments > settings.maxSegments) {
    const why = sms.encoding === 'UCS-2' ? ` (${sms.nonGsmChars.slice(0, 5).join(' ')} force UCS-2: 70 characters per segment)` : '';
    errors.push(`The message needs ${sms.segments} segments; this campaign allows at most ${settings.maxSegments}${why}. Shorten it.`);
  }
  const slot = PLACEHOLDER.exec(text);
  if (slot) errors.push(`"${slot[0]}" is an unfilled placeholder: write the actual words instead.`);
  // The database refuses NUL and unpaired surrogates (text and jsonb): say so instead of failing the save.
  if (text.includes('\u0000') || /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) {
    errors.push('The message contains a NUL character or a broken emoji (an unpaired surrogate): retype that part.');
  }
  if (body) {
    info.lint = lintMessage(text, { settings, brief: row.campaign_brief ?? {} });
    const covered = new Set(errors.length ? ['segments', 'placeholder', 'empty'] : []);
    for (const f of info.lint) if (f.severity === 'error' && !covered.has(f.rule)) errors.push(f.message);
  }
  return { ok: errors.length === 0, errors, info };
}

/**
 * Replaces the text of a suggested/approved/needs-review message: re-linted, segments and
 * encoding recomputed, original_body kept from the first edit, version+1, audited with
 * before/after. The edited text is what gets sent. `openedVersion` is the version the edit
 * form was opened at (null when the form did not say): when the message changed since,
 * the save is refused as stale instead of overwriting a text the editor never saw.
 */
export async function editMessage(ctx: AppContext, actor: Actor, messageId: number, text: string, openedVersion: number | null): Promise<ActionOutcome> {
  if (!actor.isApprover) return notApprover(actor);
  const check = await validateEdit(ctx, messageId, text);
  if (!check.ok) {
    const missing = check.errors.length === 1 && check.errors[0]!.endsWith('does not exist.');
    return refuse(missing ? 'not_found' : 'invalid', check.errors.join(' '), check.errors);
  }
  const out = await ctx.db.tx(async (c): Promise<ActionOutcome> => {
    // An approved message's edit approves the new text: the campaign first, as for an approval.
    const campaign = await lockCampaignOfMessage(c, messageId);
    const row = campaign && (await getCardRow(c, messageId));
    if (!row) return refuse('not_found', `Message ${messageId} does not exist.`);
    if ((LOCKED_STATUSES as readonly string[]).includes(row.status) || !EDITABLE.includes(row.status)) {
      return refuse('locked', `This message is ${row.status.replace('_', ' ')}; its text can no longer be edited.`);
    }
    // Saving the text it already has overwrites nothing, whatever happened since the form opened.
    if (row.body === text) return { ok: true, message: 'The text is unchanged.', card: cardFromRow(ctx, row) };
    if (openedVersion === null) return stale(c, ctx, row, OLD_FORM);
    if (row.version !== openedVersion) return stale(c, ctx, row, STALE_FORM);
    const sms = analyzeSms(text);
    const edited = await editMessageBody(c, {
      id: messageId,
      statuses: EDITABLE,
      version: openedVersion,
      body: text,
      segments: sms.segments,
      encoding: sms.encoding,
      lint: check.info.lint,
      actor: actor.name,
      actorId: actor.id,
      surface: actor.surface,
    });
    if (!edited.ok) {
      const now = await getCardRow(c, messageId);
      return now ? stale(c, ctx, now, STALE_FORM) : refuse('not_found', `Message ${messageId} does not exist.`);
    }
    const [after] = await changed(c, ctx, [messageId], { counts: false });
    return { ok: true, message: `Edited by ${actor.name}.`, card: cardFromRow(ctx, after!) };
  });
  if (out.ok || out.code === 'stale') ringOutbox();
  return out;
}

/**
 * Approves every remaining suggestion of a batch (those without lint errors), in one
 * transaction. `editsThrough` is the batch header's mark of the latest edit it had seen
 * when it was shown (BatchHeaderModel.editsThrough; null when the click did not say: then
 * no edit counts as seen): messages edited after it are held back, to be approved one by
 * one on their cards, since nobody clicking this header has necessarily seen their text.
 */
export async function approveAll(
  ctx: AppContext,
  actor: Actor,
  batchId: number,
  editsThrough: string | null,
): Promise<{ ok: boolean; message: string; approved: number }> {
  if (!actor.isApprover) return { ok: false, message: notApprover(actor).message, approved: 0 };
  let refreshed = false;
  const out = await ctx.db.tx(async (c) => {
    // The campaign before its messages, as for a single approval.
    const campaign = await lockCampaignOfBatch(c, batchId);
    if (!campaign) return { ok: false, message: `Batch ${batchId} does not exist.`, approved: 0 };
    const closed = closedToApprovals(campaign);
    if (closed) return { ok: false, message: closed, approved: 0 };
    const ids = await batchMessageIds(c, batchId, ['suggested']);
    // Edits take the campaign lock too: none can land between this look and the approval below.
    const edited = new Set(await editedAfter(c, ids, editsThrough ?? '0'));
    const rows = await getCardRows(c, ids);
    const unseen = rows.filter((r) => edited.has(Number(r.id)));
    const clean = rows
      .filter((r) => !edited.has(Number(r.id)) && !(r.lint ?? []).some((f) => f.severity === 'error'))
      .map((r) => Number(r.id));
    const held = ids.length - clean.length - unseen.length;
    const r = await transitionMessages(c, {
      ids: clean,
      from: 'suggested',
      to: 'approved',
      actor: actor.name,
      surface: actor.surface,
      action: 'approved_all',
      set: { approved_by: actor.name, approved_at: NOW, scheduled_send_time: null },
      note: { actorId: actor.id, batchId },
    });
    if (r.moved.length) {
      await afterApproval(c, ctx, actor, campaign.id);
      await changed(c, ctx, r.moved.map((m) => m.id), { counts: true });
    }
    const parts = [`Approved ${r.moved.length} message${r.moved.length === 1 ? '' : 's'} of batch #${batchId}.`];
    if (held) parts.push(`${held} with lint errors left for review (edit them first).`);
    if (unseen.length) {
      // Their cards (and this header) render again, in case the edit's render has not landed yet.
      await refreshCards(c, unseen);
      refreshed = true;
      parts.push(`${unseen.length} ${unseen.length === 1 ? 'was' : 'were'} edited since this batch was shown: check ${unseen.length === 1 ? 'it' : 'them'} and approve one by one.`);
    }
    if (r.refused.length) parts.push(`${r.refused.length} were handled by someone else meanwhile.`);
    return { ok: true, message: parts.join(' '), approved: r.moved.length };
  });
  if (out.approved || refreshed) ringOutbox();
  return out;
}

/** Rejects every remaining suggestion of a batch, in one transaction. */
export async function rejectAll(ctx: AppContext, actor: Actor, batchId: number): Promise<{ ok: boolean; message: string; rejected: number }> {
  if (!actor.isApprover) return { ok: false, message: notApprover(actor).message, rejected: 0 };
  const out = await ctx.db.tx(async (c) => {
    const batch = await getBatchRow(c, batchId);
    if (!batch) return { ok: false, message: `Batch ${batchId} does not exist.`, rejected: 0 };
    const ids = await batchMessageIds(c, batchId, ['suggested']);
    const r = await transitionMessages(c, {
      ids,
      from: 'suggested',
      to: 'rejected',
      actor: actor.name,
      surface: actor.surface,
      action: 'rejected_all',
      set: { rejected_by: actor.name, rejected_at: NOW },
      note: { actorId: actor.id, batchId },
    });
    if (r.moved.length) await changed(c, ctx, r.moved.map((m) => m.id), { counts: true });
    const extra = r.refused.length ? ` ${r.refused.length} were handled by someone else meanwhile.` : '';
    return { ok: true, message: `Rejected ${r.moved.length} message${r.moved.length === 1 ? '' : 's'} of batch #${batchId}.${extra}`, rejected: r.moved.length };
  });
  if (out.rejected) ringOutbox();
  return out;
}
