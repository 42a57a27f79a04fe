/**
 * Applies the numbered plain-SQL migrations in `sql/` in order, each in its own
 * transaction with its bookkeeping row. A transaction-scoped advisory lock serialises
 * concurrent migrators: the second one waits, then finds the work done and skips it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import type { Database } from './database.ts';

export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));
const MIGRATION_LOCK = 0x5e5_0e5; // any constant shared by every smsops process

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export function listMigrations(dir = SQL_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  return files.map((file) => {
    const sql = readFileSync(dir + file, 'utf8');
    return {
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.sql$/, ''),
      sql,
      checksum: createHash('sha256').update(sql).digest('hex').slice(0, 16),
    };
  });
}

/** Returns the names of the migrations this call applied. */
export async function migrate(db: Database, log: Logger = silentLogger, dir = SQL_DIR): Promise<string[]> {
  const applied: string[] = [];
  for (const m of listMigrations(dir)) {
    const did = await db.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await c.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE version = $1', [
        m.version,
      ]);
      if (rows[0]) {
        if (rows[0].checksum !== m.checksum) {
          log.warn('an applied migration has changed since it ran; edit schema in a new migration instead', {
            migration: m.name,
          });
        }
        return false;
      }
      try {
        await c.query(m.sql);
      } catch (e) {
        throw new AppError('migration_failed', `Migration ${m.name} failed: ${(e as Error).message}`, { cause: e });
      }
      await c.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        m.checksum,
      ]);
      return true;
    });
    if (did) {
      applied.push(m.name);
      log.info('migration applied', { migration: m.name });
    }
  }
  return applied;
}
