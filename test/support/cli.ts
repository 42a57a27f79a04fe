/** Runs the real `smsops` command line in a child process, against an embedded database in `dataDir`. */
import { execFile, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

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
