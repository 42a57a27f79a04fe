import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { openPglite } from '../../src/db/database.ts';

/** The embedded engine must behave like a server for everything the application does. */
describe('embedded PGlite behind the pg wire protocol', () => {
  let db: Database;
  let second: pg.Pool;
  beforeAll(async () => {
    db = await openPglite(undefined);
    await db.pool.query('CREATE TABLE t (id int PRIMARY KEY, v int CHECK (v > 0))');
    const opts = db.pool.options as pg.PoolConfig;
    second = new pg.Pool({ host: opts.host, port: opts.port, user: 'postgres', database: 'postgres', max: 1 });
  });
  afterAll(async () => {
    await second?.end();
    await db?.close();
  });

  it('survives errors in parameterised queries, one after another', async () => {
    for (let i = 0; i < 5; i++) {
      await expect(db.pool.query('INSERT INTO t VALUES ($1, $2)', [i, -1])).rejects.toMatchObject({ code: '23514' });
    }
    await db.pool.query('INSERT INTO t VALUES ($1, $2)', [1, 1]);
    await expect(db.pool.query('INSERT INTO t VALUES ($1, $2)', [1, 1])).rejects.toMatchObject({ code: '23505' });
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM t');
    expect(rows[0].n).toBe(1);
  });

  it('rolls back a failed transaction and keeps the connection usable', async () => {
    await expect(
      db.tx(async (c) => {
        await c.query('INSERT INTO t VALUES ($1, $2)', [10, 1]);
        await c.query('INSERT INTO t VALUES ($1, $2)', [11, -1]);
      }),
    ).rejects.toMatchObject({ code: '23514' });
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM t WHERE id IN (10, 11)');
    expect(rows[0].n).toBe(0);
  });

  it("keeps another connection's statements out of an open transaction", async () => {
    const c = await db.pool.connect();
    await c.query('BEGIN');
    await c.query('INSERT INTO t VALUES (20, 1)');
    // The other connection waits for the transaction instead of running inside it.
    const outside = second.query('INSERT INTO t VALUES (21, 1)');
    await new Promise((r) => setTimeout(r, 50));
    await c.query('ROLLBACK');
    c.release();
    await outside;
    const { rows } = await db.pool.query('SELECT id FROM t WHERE id IN (20, 21) ORDER BY id');
    expect(rows).toEqual([{ id: 21 }]);
  });

  it('rolls back the transaction of a connection that vanished', async () => {
    const opts = db.pool.options as pg.PoolConfig;
    const client = new pg.Client({ host: opts.host, port: opts.port, user: 'postgres', database: 'postgres' });
    await client.connect();
    client.on('error', () => undefined);
    await client.query('BEGIN');
    await client.query('INSERT INTO t VALUES (30, 1)');
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const { rows } = await second.query('SELECT count(*)::int AS n FROM t WHERE id = 30');
    expect(rows[0].n).toBe(0);
  });
});
