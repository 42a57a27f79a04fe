import type { Queryable } from '../database.ts';

export type Surface = 'slack' | 'discord' | 'console' | 'cli' | 'system' | 'sms';

export interface AuditEntry {
  actor: string;
  surface: Surface;
  action: string;
  entityType: string;
  entityId: string | number;
  before?: unknown;
  after?: unknown;
}

/** Appends one audit row (call it inside the transaction of the change it records). */
export async function writeAudit(q: Queryable, e: AuditEntry): Promise<void> {
  await q.query(
    `INSERT INTO audit_log (actor, surface, action, entity_type, entity_id, before, after)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      e.actor,
      e.surface,
      e.action,
      e.entityType,
      String(e.entityId),
      e.before === undefined ? null : JSON.stringify(e.before),
      e.after === undefined ? null : JSON.stringify(e.after),
    ],
  );
}

export async function auditFor(q: Queryable, entityType: string, entityId: string | number) {
  const { rows } = await q.query(
    `SELECT actor, surface, action, before, after, at FROM audit_log
     WHERE entity_type = $1 AND entity_id = $2 ORDER BY id`,
    [entityType, String(entityId)],
  );
  return rows as { actor: string; surface: Surface; action: string; before: unknown; after: unknown; at: Date }[];
}

/** Of these provider ids, those of test sends to `phone` (their audit rows keep them, whatever text the provider kept: see sendTestMessage). */
export async function testSendIdsAmong(q: Queryable, phone: string, providerIds: string[]): Promise<Set<string>> {
  const { rows } = await q.query<{ pid: string }>(
    `SELECT DISTINCT t.pid FROM audit_log a, jsonb_array_elements_text(a.after->'providerMessageIds') AS t(pid)
     WHERE a.entity_type = 'campaign' AND a.action IN ('test_sent', 'test_send_failed') AND a.after->>'phone' = $1 AND t.pid = ANY($2::text[])`,
    [phone, providerIds],
  );
  return new Set(rows.map((r) => r.pid));
}
