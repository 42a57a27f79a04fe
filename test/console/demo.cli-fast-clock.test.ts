/**
 * `smsops demo` (what `npm run demo` runs), as a user starts it: a fresh temporary
 * database with demo data, a fast clock that starts in New York's daytime, and a clean
 * exit on SIGTERM that removes the database.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSmsops } from '../support/cli.ts';
import { call } from './http.ts';

describe('smsops demo', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'smsops-demo-cli-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('serves the demo on a daytime fast clock and cleans up on SIGTERM', { timeout: 120_000 }, async () => {
    // The demo makes its own temporary database: SMSOPS_DATA_DIR (here `cwd`) is one of the settings it ignores.
    const child = spawnSmsops(cwd, ['demo', '--speed', '60'], { PORT: '0', TWILIO_AUTH_TOKEN: 'never-reaches-the-demo' });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = once(child, 'exit');
    await expect.poll(() => out, { timeout: 90_000 }).toMatch(/It appears in the channel/);

    const m = /running at (http:\/\/\S+) \(clock 60x from (\S+), database (\S+);/.exec(out);
    expect(m, out).not.toBeNull();
    const [, url, from, dataDir] = m!;
    const ny = DateTime.fromISO(from!, { zone: 'America/New_York' });
    expect(ny.isValid).toBe(true);
    expect(ny.hour).toBeGreaterThanOrEqual(10);
    expect(ny.hour).toBeLessThan(15);
    expect(existsSync(dataDir!)).toBe(true);
    const channel = await call(url!, '/api/channel');
    expect(channel.status).toBe(200);
    expect(channel.body.empty).toBe(false);

    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, out).toBe(0);
    expect(existsSync(dataDir!)).toBe(false);
    expect(readdirSync(cwd)).toEqual([]); // nothing written where SMSOPS_DATA_DIR pointed
  });
});
