import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { call, openEvents } from './http.ts';
import { startConsole, type RunningConsole } from './support.ts';

const TOKEN = 'c0nsole-t0ken-for-tests-0123456789';

/** A raw GET with a chosen Host header (fetch does not let a caller set it). */
function getWithHost(base: string, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(base + path, { headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

describe.each(engines)('the console guard on %s', (engine) => {
  let db: Database;
  let open: RunningConsole;
  let locked: RunningConsole;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    open = await startConsole(db);
    locked = await startConsole(db, { CONSOLE_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await open?.close();
    await locked?.close();
    await db?.close();
  });

  describe('without CONSOLE_TOKEN (loopback only)', () => {
    it('serves the page with a strict content security policy, and its assets', async () => {
      const page = await fetch(open.base + '/');
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>smsops console</title>');
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      const js = await fetch(open.base + '/assets/console.js');
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
    });

    it('refuses requests addressed to another host name (DNS rebinding)', async () => {
      expect(await getWithHost(open.base, '/api/channel', 'evil.example:3000')).toBe(403);
      expect(await getWithHost(open.base, '/', 'evil.example')).toBe(403);
      expect(await getWithHost(open.base, '/api/channel', 'localhost:3000')).toBe(200);
    });

    it('refuses a change without the console header or from another origin', async () => {
      const bare = await fetch(open.base + '/api/command', {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: '{"text":"help"}',
      });
      expect(bare.status).toBe(403);
      const foreign = await call(open.base, '/api/command', { text: 'help' }, { Origin: 'https://evil.example' });
      expect(foreign.status).toBe(403);
      const own = await call(open.base, '/api/command', { text: 'help' }, { Origin: open.base });
      expect(own.status).toBe(200);
    });

    it('leaves the other routes of the server alone', async () => {
      expect((await fetch(open.base + '/healthz')).status).toBe(200);
    });
  });

  describe('with CONSOLE_TOKEN', () => {
    it('refuses the page, the API and the event stream without the token', async () => {
      expect((await fetch(locked.base + '/')).status).toBe(401);
      expect((await call(locked.base, '/api/channel')).status).toBe(401);
      expect((await call(locked.base, '/api/command', { text: 'help' })).status).toBe(401);
      const events = await openEvents(locked.base);
      expect(events.status).toBe(401);
      events.close();
      expect((await call(locked.base, '/api/channel', undefined, { Authorization: 'Bearer wrong' })).status).toBe(401);
    });

    it('accepts the token as a bearer header', async () => {
      const r = await call(locked.base, '/api/channel', undefined, { Authorization: `Bearer ${TOKEN}` });
      expect(r.status).toBe(200);
    });

    it('the login link sets a cookie and drops the token from the address; the cookie opens everything', async () => {
      const login = await fetch(`${locked.base}/?token=${TOKEN}`, { redirect: 'manual' });
      expect(login.status).toBe(303);
      expect(login.headers.get('location')).toBe('/');
      const setCookie = login.headers.get('set-cookie')!;
      expect(setCookie).toMatch(/HttpOnly/i);
      expect(setCookie).toMatch(/SameSite=Strict/i);
      const cookie = setCookie.split(';')[0]!;

      expect((await fetch(locked.base + '/', { headers: { Cookie: cookie } })).status).toBe(200);
      expect((await call(locked.base, '/api/command', { text: 'help' }, { Cookie: cookie })).status).toBe(200);
      const events = await openEvents(locked.base, { Cookie: cookie });
      expect(events.status).toBe(200);
      events.close();

      expect((await fetch(`${locked.base}/?token=nope`, { redirect: 'manual' })).status).toBe(401);
    });
  });
});
