/** idle() says why when the outbox cannot run at all, instead of waiting for ever. */
import { describe, expect, it } from 'vitest';
import { openTestDatabase } from '../support/db.ts';
import { startSlackHarness } from './support.ts';

describe('the chat outbox worker without its database', () => {
  it('idle() rejects with the failed round\'s error, and resolves again once rounds succeed', async () => {
    const db = await openTestDatabase('pglite');
    const h = await startSlackHarness(db);
    try {
      await h.outbox.idle();
      await db.pool.query('ALTER TABLE chat_outbox RENAME TO chat_outbox_away');
      await expect(h.outbox.idle()).rejects.toThrow(/a chat outbox round failed: .*chat_outbox/);
      await db.pool.query('ALTER TABLE chat_outbox_away RENAME TO chat_outbox');
      await expect(h.outbox.idle()).resolves.toBeUndefined();
    } finally {
      await h.close();
      await db.close();
    }
  });
});
