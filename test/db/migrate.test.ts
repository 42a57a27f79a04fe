import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listMigrations, migrate } from '../../src/db/migrate.ts';
import { engines, openTestDatabase } from '../support/db.ts';

describe.each(engines)('migrations on %s', (engine) => {
  it('applies every migration once, in order, and records it', async () => {
    const db = await openTestDatabase(engine, { migrated: false });
    try {
      const applied = await migrate(db);
      expect(applied).toEqual(listMigrations().map((m) => m.name));
      expect(await migrate(db)).toEqual([]);
      const { rows } = await db.pool.query('SELECT version, name FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.name)).toEqual(applied);
      const tables = await db.pool.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining(['audit_log', 'batches', 'campaign_messages', 'campaigns', 'chat_outbox', 'contact_status', 'customers', 'delivery_events', 'inbound_messages']),
      );
    } finally {
      await db.close();
    }
  });

  it('rolls back a failing migration whole and names it', async () => {
    const db = await openTestDatabase(engine, { migrated: false });
    const dir = mkdtempSync(join(tmpdir(), 'smsops-mig-'));
    writeFileSync(join(dir, '0001_good.sql'), 'CREATE TABLE good (id int);');
    writeFileSync(join(dir, '0002_bad.sql'), 'CREATE TABLE half (id int); SELECT * FROM missing_table;');
    try {
      await expect(migrate(db, undefined, dir + '/')).rejects.toThrow(/Migration 0002_bad failed: .*missing_table/);
      const { rows } = await db.pool.query(`SELECT to_regclass('good') AS good, to_regclass('half') AS half`);
      expect(rows[0]).toEqual({ good: 'good', half: null });
      const recorded = await db.pool.query('SELECT name FROM schema_migrations');
      expect(recorded.rows).toEqual([{ name: '0001_good' }]);
    } finally {
      await db.close();
    }
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('concurrent migrators on postgres', () => {
  it('two processes migrating at once apply each migration exactly once', async () => {
    const db = await openTestDatabase('postgres', { migrated: false });
    const { openPostgres } = await import('../../src/db/database.ts');
    const others = await Promise.all([1, 2, 3].map(() => openPostgres(db.url!)));
    try {
      const results = await Promise.all([db, ...others].map((d) => migrate(d)));
      const all = results.flat();
      expect(all.sort()).toEqual(listMigrations().map((m) => m.name).sort());
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0].n).toBe(listMigrations().length);
    } finally {
      for (const o of others) await o.close();
      await db.close();
    }
  });
});
