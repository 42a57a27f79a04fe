/** Runs the real chat outbox worker until the given rows are delivered. */
import type { ChatSurface } from '../../src/bot/chatSurface.ts';
import { startChatOutbox } from '../../src/bot/outbox.ts';
import type { AppContext } from '../../src/context.ts';

/** Delivers pending chat_outbox rows for Discord until every row whose dedupe key matches `like` is done. */
export async function deliverOutbox(ctx: AppContext, surface: ChatSurface, like = '%'): Promise<void> {
  const worker = startChatOutbox(ctx, new Map([['discord', surface]]), { pollMs: 20 });
  try {
    for (let i = 0; i < 1000; i++) {
      const { rows } = await ctx.db.pool.query<{ n: number; dead: number }>(
        `SELECT count(*) FILTER (WHERE status = 'pending')::int AS n, count(*) FILTER (WHERE status = 'dead')::int AS dead
         FROM chat_outbox WHERE surface = 'discord' AND dedupe_key LIKE $1`,
        [like],
      );
      if (rows[0]!.dead) throw new Error('a chat post was given up');
      if (rows[0]!.n === 0) return;
      worker.wake();
      await new Promise((r) => setTimeout(r, 20));
    }
    const { rows } = await ctx.db.pool.query(`SELECT kind, dedupe_key, last_error FROM chat_outbox WHERE status = 'pending'`);
    throw new Error(`chat outbox did not deliver: ${JSON.stringify(rows)}`);
  } finally {
    await worker.stop();
  }
}
