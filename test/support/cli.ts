/** Runs the real `smsops` command line in a child process, against an embedded database in `dataDir`. */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { openPglite, type Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'src/cli.ts');

const childEnv = (dataDir: string, env: Record<string, string>) => ({
  PATH: process.env.PATH, HOME: process.env.HOME, SMSOPS_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env,
});

/** Runs a command to its end; rejects (with code, stdout and stderr) when it exits non-zero. */
export function runSmsops(dataDir: string, args: string[], env: Record<string, string> = {}) {
  return run(TSX, [CLI, ...args], { cwd: dataDir /* no .env here */, env: childEnv(dataDir, env) });
}

/** Starts a long-running command (start, demo) with piped output. */
export function spawnSmsops(dataDir: string, args: string[], env: Record<string, string> = {}) {
  return spawn(TSX, [CLI, ...args], { cwd: dataDir /* no .env here */, env: childEnv(dataDir, env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A new temporary data folder (`${prefix}…`) holding a migrated embedded database seeded by `seed`, for the command line to open. */
export async function seededDataDir(prefix: string, seed: (db: Database) => Promise<void>): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  try {
    await withDataDir(dataDir, async (db) => {
      await migrate(db);
      await seed(db);
    });
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  return dataDir;
}

/** Opens the embedded database in `dataDir` for `use`, and closes it again: the command line cannot open it while this process holds it. */
export async function withDataDir<T>(dataDir: string, use: (db: Database) => Promise<T>): Promise<T> {
  const db = await openPglite(dataDir);
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}
