/** Campaign rows: look-ups by name and id, creation, status changes (audited). */
import type { Queryable } from '../database.ts';
import { writeAudit, type Surface } from './audit.ts';

export type CampaignStatus = 'draft' | 'active' | 'paused' | 'completed' | 'cancelled';

export interface CampaignRow {
  id: number;
  name: string;
  status: CampaignStatus;
  campaign_type: string;
  brief: Record<string, unknown>;
  settings: Record<string, unknown>;
  test_mode: boolean;
  test_numbers: string[];
  chat_surface: string | null;
  chat_channel: string | null;
  seed: number;
  paused_reason: string | null;
  /** The error budget counts sends attempted since then (set by a resume); null: all. */
  error_budget_since: Date | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export async function getCampaignByName(q: Queryable, name: string): Promise<CampaignRow | undefined> {
  const { rows } = await q.query<CampaignRow>('SELECT * FROM campaigns WHERE lower(name) = lower($1)', [name]);
  return rows[0];
}

export async function getCampaign(q: Queryable, id: number): Promise<CampaignRow | undefined> {
  const { rows } = await q.query<CampaignRow>('SELECT * FROM campaigns WHERE id = $1', [id]);
  return rows[0];
}

export async function listCampaigns(q: Queryable): Promise<CampaignRow[]> {
  const { rows } = await q.query<CampaignRow>(`SELECT * FROM campaigns ORDER BY created_at DESC, id DESC`);
  return rows;
}

/** Creates the campaign if it does not exist (side effect: an insert + audit row); returns it either way. */
export async function ensureCampaign(
  q: Queryable,
  input: { name: string; campaignType?: string; brief?: Record<string, unknown>; seed?: number; actor: string; surface: Surface },
): Promise<{ campaign: CampaignRow; created: boolean }> {
  const existing = await getCampaignByName(q, input.name);
  if (existing) return { campaign: existing, created: false };
  const { rows } = await q.query<CampaignRow>(
    `INSERT INTO campaigns (name, campaign_type, brief, created_by, seed)
     VALUES ($1, $2, $3, $4, coalesce($5, floor(random() * 2147483647)::integer))
     ON CONFLICT (name) DO NOTHING RETURNING *`,
    [input.name, input.campaignType ?? 'retention', JSON.stringify(input.brief ?? {}), input.actor, input.seed ?? null],
  );
  if (!rows[0]) return { campaign: (await getCampaignByName(q, input.name))!, created: false };
  await writeAudit(q, {
    actor: input.actor,
    surface: input.surface,
    action: 'campaign_created',
    entityType: 'campaign',
    entityId: rows[0].id,
    after: { name: input.name, campaign_type: rows[0].campaign_type, brief: rows[0].brief },
  });
  return { campaign: rows[0], created: true };
}

/**
 * The campaign of a message, locked FOR UPDATE until the transaction ends. The lock order is
 * campaign, then its messages: cancel, pause, resume and settings changes lock the campaign
 * row before touching messages, so whatever else changes messages and their campaign together
 * (an approval plans its campaign) takes the campaign first too, or the two could deadlock.
 * Read after the lock, the message is as the last campaign change left it (a cancel included).
 */
export async function lockCampaignOfMessage(q: Queryable, messageId: number): Promise<CampaignRow | undefined> {
  const { rows } = await q.query<CampaignRow>(
    'SELECT * FROM campaigns WHERE id = (SELECT campaign_id FROM campaign_messages WHERE id = $1) FOR UPDATE',
    [messageId],
  );
  return rows[0];
}

/** The campaign of a batch, locked FOR UPDATE (campaign before messages: see lockCampaignOfMessage). */
export async function lockCampaignOfBatch(q: Queryable, batchId: number): Promise<CampaignRow | undefined> {
  const { rows } = await q.query<CampaignRow>(
    'SELECT * FROM campaigns WHERE id = (SELECT campaign_id FROM batches WHERE id = $1) FOR UPDATE',
    [batchId],
  );
  return rows[0];
}

/** Guarded status change (side effect: update + audit). Returns false when `from` did not match. */
export async function setCampaignStatus(
  q: Queryable,
  input: { id: number; from: CampaignStatus[]; to: CampaignStatus; actor: string; surface: Surface; reason?: string },
): Promise<boolean> {
  const { rows } = await q.query<{ id: number; old: string }>(
    `WITH old AS (SELECT id, status FROM campaigns WHERE id = $1 AND status = ANY($2::text[]) FOR UPDATE)
     UPDATE campaigns c SET status = $3, paused_reason = $4, updated_at = now()
     FROM old WHERE c.id = old.id RETURNING c.id, old.status AS old`,
    [input.id, input.from, input.to, input.to === 'paused' ? (input.reason ?? null) : null],
  );
  if (!rows[0]) return false;
  await writeAudit(q, {
    actor: input.actor,
    surface: input.surface,
    action: `campaign_${input.to}`,
    entityType: 'campaign',
    entityId: input.id,
    before: { status: rows[0].old },
    after: { status: input.to, reason: input.reason },
  });
  return true;
}

/** A resume starts the error budget afresh from `at` (side effect: update). */
export async function restartErrorBudget(q: Queryable, id: number, at: Date): Promise<void> {
  await q.query('UPDATE campaigns SET error_budget_since = $2 WHERE id = $1', [id, at]);
}

/** Replaces the stored overrides (side effect: update + audit). */
export async function updateCampaignSettings(
  q: Queryable,
  input: { id: number; settings: Record<string, unknown>; actor: string; surface: Surface },
): Promise<void> {
  const { rows } = await q.query<{ settings: unknown }>('SELECT settings FROM campaigns WHERE id = $1 FOR UPDATE', [input.id]);
  await q.query('UPDATE campaigns SET settings = $2, updated_at = now() WHERE id = $1', [input.id, JSON.stringify(input.settings)]);
  await writeAudit(q, {
    actor: input.actor,
    surface: input.surface,
    action: 'campaign_settings',
    entityType: 'campaign',
    entityId: input.id,
    before: rows[0]?.settings ?? null,
    after: input.settings,
  });
}
