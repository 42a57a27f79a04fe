/**
 * Test databases on both engines. Every database test runs on embedded PGlite, and also
 * on a real PostgreSQL server when TEST_DATABASE_URL is set (CI sets it): each test file
 * gets its own database cloned from a migrated template (see globalSetup.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { inject } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { openPglite, openPostgres } from '../../src/db/database.ts';

export type Engine = 'pglite' | 'postgres';

export const engines: Engine[] = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

export function databaseUrl(name: string): string {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = '/' + name;
  return u.toString();
}

let template: Blob | undefined;
function pgliteTemplate(): Blob {
  template ??= new Blob([readFileSync(inject('pgliteTemplate'))]);
  return template;
}

/** A fresh, migrated database; `close()` drops it. */
export async function openTestDatabase(engine: Engine, opts: { migrated?: boolean; max?: number } = {}): Promise<Database & { url?: string }> {
  const migrated = opts.migrated ?? true;
  if (engine === 'pglite') {
    if (!migrated) return openPglite(undefined);
    return openPglite(undefined, undefined, { loadDataDir: pgliteTemplate() });
  }
  const name = `smsops_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}${migrated ? ` TEMPLATE ${inject('postgresTemplate')}` : ''}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const db = await openPostgres(url, undefined, opts.max ?? 10);
  return {
    ...db,
    url,
    async close() {
      await db.close();
      const a = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await a.end();
    },
  };
}
