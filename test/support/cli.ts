/** Runs the real `smsops` command line in a child process, against an embedded database in `dataDir`. */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

export function runSmsops(dataDir: string, args: string[], env: Record<string, string> = {}) {
  return run(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'src/cli.ts'), ...args], {
    cwd: dataDir, // no .env here
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SMSOPS_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env },
  });
}
