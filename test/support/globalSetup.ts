/** Once per test run: a migrated template database on the PostgreSQL server, if there is one. */
import pg from 'pg';
import { openPostgres } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { TEMPLATE_DB, databaseUrl } from './db.ts';

export async function setup(): Promise<void> {
  if (!process.env.TEST_DATABASE_URL) return;
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await admin.end();
  const db = await openPostgres(databaseUrl(TEMPLATE_DB));
  await migrate(db);
  await db.close();
}
