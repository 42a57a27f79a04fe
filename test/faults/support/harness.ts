/** Shared pieces of the fault suite: scheduler child processes, bulk seeding, polling. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Queryable } from '../../../src/db/database.ts';

const SCHEDULER_CHILD = fileURLToPath(new URL('../children/scheduler.ts', import.meta.url));

/** Campaign settings with every window open and caps out of the way (soak and crash cases). */
export const ALWAYS_OPEN = {
  businessHours: { start: 0, end: 0 }, businessDays: [1, 2, 3, 4, 5, 6, 7], recipientQuietHours: null,
  ratePerMinute: 1_000_000, ratePerHour: 10_000_000, ratePerDay: 100_000_000,
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Child extends ChildProcess {
  /** Resolves with the exit code (null when killed by a signal). */
  done: Promise<number | null>;
  output(): string;
  alive(): boolean;
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

/** Starts test/faults/children/scheduler.ts with CHILD_* settings. */
export function spawnScheduler(env: Record<string, string>): Child {
  const p = spawn(process.execPath, ['--import', 'tsx', SCHEDULER_CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exited = false;
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const done = new Promise<number | null>((r) =>
    p.on('exit', (code) => {
      exited = true;
      r(code);
    }),
  );
  return Object.assign(p, {
    done,
    output: () => out,
    alive: () => !exited,
    async waitFor(text: string, timeoutMs = 30_000) {
      const start = Date.now();
      while (!out.includes(text)) {
        if (exited) throw new Error(`scheduler child exited before printing "${text}":\n${out}`);
        if (Date.now() - start > timeoutMs) throw new Error(`scheduler child did not print "${text}" in ${timeoutMs} ms:\n${out}`);
        await sleep(50);
      }
    },
  });
}

/** Polls `check` until it returns a truthy value; retries through database errors (restarts). */
export async function waitUntil<T>(check: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

/**
 * `n` opted-in customers with approved messages in a new campaign, in two statements.
 * Slots start at `firstAt` and follow every `spacingMs`. Phones are +1415<base + i>.
 */
export async function seedApproved(
  q: Queryable,
  a: {
    name: string; n: number; phoneBase: number; firstAt: Date; spacingMs?: number; settings?: Record<string, unknown>; timezone?: string | null; status?: string;
    /** What follows "Hi <phone>" in each text. */
    text?: string;
  },
): Promise<{ campaignId: number; ids: number[] }> {
  const { rows: c } = await q.query<{ id: number }>(
    `INSERT INTO campaigns (name, status, settings, chat_surface, chat_channel) VALUES ($1, $2, $3, 'console', 'console') RETURNING id`,
    [a.name, a.status ?? 'active', JSON.stringify(a.settings ?? ALWAYS_OPEN)],
  );
  const campaignId = c[0]!.id;
  const { rows } = await q.query<{ id: number }>(
    `WITH cu AS (
       INSERT INTO customers (name, phone, consent_status, timezone)
       SELECT 'Fault ' || g, '+1415' || lpad(($2 + g)::text, 7, '0'), 'opted_in', $6 FROM generate_series(0, $3 - 1) g
       RETURNING id, phone
     )
     INSERT INTO campaign_messages (campaign_id, customer_id, phone, body, status, approved_by, approved_at, scheduled_send_time)
     SELECT $1, cu.id, cu.phone, 'Hi ' || cu.phone || $7, 'approved', 'fault-suite', $4::timestamptz - interval '1 minute',
            $4::timestamptz + (row_number() OVER (ORDER BY cu.phone) - 1) * ($5::int * interval '1 millisecond')
     FROM cu RETURNING id`,
    [campaignId, a.phoneBase, a.n, a.firstAt, a.spacingMs ?? 0, a.timezone === undefined ? 'America/Los_Angeles' : a.timezone, a.text ?? ', we miss you at Bloom Bakery! Reply STOP to opt out'],
  );
  return { campaignId, ids: rows.map((r) => Number(r.id)).sort((x, y) => x - y) };
}

/** Message counts by status. */
export async function statusCounts(q: Queryable, campaignId?: number): Promise<Record<string, number>> {
  const { rows } = await q.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM campaign_messages WHERE $1::bigint IS NULL OR campaign_id = $1 GROUP BY status`,
    [campaignId ?? null],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Whether every message of the campaign has left approved/sending/unknown. */
export async function settled(q: Queryable, campaignId: number): Promise<boolean> {
  const c = await statusCounts(q, campaignId);
  return !c.approved && !c.sending && !c.unknown;
}
