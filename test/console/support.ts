/** A running console on a test database: the real express app, the real surface, port 0. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createConsoleSurface } from '../../src/bot/console/index.ts';
import type { ChatSurface } from '../../src/bot/chatSurface.ts';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database } from '../../src/db/database.ts';
import { createHttpApp, listen } from '../../src/http/server.ts';
import { silentLogger } from '../../src/log.ts';
import type { Queryable } from '../../src/db/database.ts';
import { insertCustomer, insertMessage } from '../support/fixtures.ts';

export interface RunningConsole {
  ctx: AppContext;
  surface: ChatSurface;
  base: string;
  close(): Promise<void>;
}

export async function startConsole(db: Database, env: Record<string, string> = {}): Promise<RunningConsole> {
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
  const ctx: AppContext = { config, db, log: silentLogger, clock: systemClock };
  const app = createHttpApp({ db, log: silentLogger });
  const consoleSurface = await createConsoleSurface(ctx, app);
  const server: Server = await listen(app, '127.0.0.1', 0, silentLogger);
  const { port } = server.address() as AddressInfo;
  return {
    ctx,
    surface: consoleSurface.surface,
    base: `http://127.0.0.1:${port}`,
    async close() {
      await consoleSurface.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A batch of suggested messages (one per customer name) in a console campaign, written with plain SQL. */
export async function insertBatch(
  q: Queryable,
  campaignId: number,
  customers: { name: string; body?: string }[],
): Promise<{ batchId: number; messageIds: number[]; phones: string[] }> {
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO batches (campaign_id, segment_spec, generator, suggestion_count) VALUES ($1, 'all', 'templates', $2) RETURNING id`,
    [campaignId, customers.length],
  );
  const batchId = Number(rows[0]!.id);
  const messageIds: number[] = [];
  const phones: string[] = [];
  for (const c of customers) {
    const customer = await insertCustomer(q, { name: c.name });
    phones.push(customer.phone);
    messageIds.push(
      await insertMessage(q, {
        campaignId,
        batchId,
        customerId: customer.id,
        phone: customer.phone,
        status: 'suggested',
        body: c.body ?? `Hi ${c.name.split(' ')[0]}, we miss you at Bean There! Reply STOP to opt out`,
      }),
    );
  }
  return { batchId, messageIds, phones };
}
