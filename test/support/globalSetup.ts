/**
 * Once per test run: migrated template databases. PostgreSQL (when TEST_DATABASE_URL is
 * set) gets a template database that test files clone; PGlite gets a dump of a migrated
 * data directory that test files load (much faster than a fresh initdb each).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openPglite, openPostgres } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { databaseUrl } from './db.ts';

// One template per test run: runs in parallel (several terminals, CI) never touch each other's.
const TEMPLATE_DB = `smsops_test_template_${process.pid}`;

export async function setup(project: TestProject): Promise<void> {
  const embedded = await openPglite(undefined);
  await migrate(embedded);
  const dump = await embedded.dumpDataDir!();
  await embedded.close();
  const file = join(tmpdir(), `smsops-pglite-template-${process.pid}.tar`);
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  project.provide('pgliteTemplate', file);

  if (!process.env.TEST_DATABASE_URL) return;
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await admin.end();
  const db = await openPostgres(databaseUrl(TEMPLATE_DB));
  await migrate(db);
  await db.close();
  project.provide('postgresTemplate', TEMPLATE_DB);
}

export async function teardown(): Promise<void> {
  if (!process.env.TEST_DATABASE_URL) return;
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    postgresTemplate: string;
  }
}
