/**
 * A Discord signature never expires, so the signed timestamp must be recent: a captured
 * request replayed later (once its interaction id is no longer remembered) is refused
 * before anything reads it.
 */
import { sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFreshTimestamp, MAX_TIMESTAMP_SKEW_SECONDS } from '../../src/bot/discord/verify.ts';
import { engines } from '../support/db.ts';
import { APPROVER_ROLE, buttonClick, seedBatch, startHarness, type Harness } from './harness.ts';

describe('isFreshTimestamp', () => {
  const now = Date.UTC(2026, 0, 1);
  const secondsAgo = (s: number) => String(now / 1000 - s);
  it('accepts up to the allowed skew either way, and nothing past it', () => {
    expect(isFreshTimestamp(secondsAgo(0), now)).toBe(true);
    expect(isFreshTimestamp(secondsAgo(MAX_TIMESTAMP_SKEW_SECONDS), now)).toBe(true);
    expect(isFreshTimestamp(secondsAgo(-MAX_TIMESTAMP_SKEW_SECONDS), now)).toBe(true);
    expect(isFreshTimestamp(secondsAgo(MAX_TIMESTAMP_SKEW_SECONDS + 1), now)).toBe(false);
    expect(isFreshTimestamp(secondsAgo(-MAX_TIMESTAMP_SKEW_SECONDS - 1), now)).toBe(false);
  });
  it('refuses a missing or malformed timestamp', () => {
    for (const t of [undefined, '', 'abc', '1.5', '-1', `${now / 1000}x`, '9'.repeat(13)]) expect(isFreshTimestamp(t, now)).toBe(false);
  });
});

describe.each(engines)('Discord interactions with an old signed timestamp on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engine, { approverRoleId: APPROVER_ROLE });
  });
  afterAll(() => h?.close());

  /** POSTs `body` signed with the application's key at `secondsAgo`. */
  async function postSigned(body: unknown, secondsAgo: number): Promise<number> {
    const raw = JSON.stringify(body);
    const timestamp = String(Math.floor(Date.now() / 1000) - secondsAgo);
    const res = await fetch(`${h.url}/discord/interactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature-timestamp': timestamp, 'x-signature-ed25519': sign(null, Buffer.from(timestamp + raw), h.privateKey).toString('hex') },
      body: raw,
    });
    await res.text();
    return res.status;
  }

  it('refuses a correctly signed Approve signed ten minutes ago, and changes nothing', async () => {
    const s = await seedBatch(h.db, `stale-${engine}`, 1);
    const id = s.messageIds[0]!;
    const click = buttonClick(`approve:${id}:1`, { messageId: '1', channelId: '2' }, { roles: [APPROVER_ROLE], name: 'Dana' });
    expect(await postSigned(click, 600)).toBe(401);
    await h.discord.idle();
    const { rows } = await h.db.pool.query('SELECT status FROM campaign_messages WHERE id = $1', [id]);
    expect(rows[0].status).toBe('suggested');
  });

  it('accepts a request signed four minutes ago (clocks differ a little)', async () => {
    expect(await postSigned({ id: '3', application_id: '1', type: 1, token: 't', version: 1 }, 240)).toBe(200);
  });
});
