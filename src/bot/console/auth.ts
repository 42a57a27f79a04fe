/**
 * Who may use the console. With CONSOLE_TOKEN set, every request (pages, API, event
 * stream) must carry it: `Authorization: Bearer <token>`, or the cookie that the login
 * link `/?token=<token>` sets. Without a token the console answers only requests
 * addressed to a loopback host name (a web page cannot rebind its own name to us).
 * Either way, changes need the `X-Smsops-Console` header, which another site's page
 * cannot send without a CORS preflight we never grant.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export const SESSION_COOKIE = 'smsops_console';
export const CHANGE_HEADER = 'x-smsops-console';
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The guard for every console route. */
export function consoleGuard(token: string | undefined): RequestHandler {
  return (req, res, next) => {
    if (token === undefined) {
      if (!LOOPBACK_NAMES.has(hostName(req.headers.host))) {
        return refuse(req, res, 403, 'The console answers only on 127.0.0.1 unless CONSOLE_TOKEN is set.');
      }
      return checkChange(req, res, next);
    }
    const offered = typeof req.query.token === 'string' ? req.query.token : undefined;
    if (offered !== undefined) {
      if (!sameSecret(offered, token)) return refuse(req, res, 401, 'That console link has a wrong token.');
      res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
      // Drop the token from the address bar (and from history) once the cookie holds it.
      if (req.method === 'GET') return res.redirect(303, withoutToken(req.originalUrl));
      return checkChange(req, res, next);
    }
    const presented = bearer(req.headers.authorization) ?? cookie(req.headers.cookie, SESSION_COOKIE);
    if (presented === undefined || !sameSecret(presented, token)) {
      return refuse(req, res, 401, 'This console needs its token: open the login link /?token=<CONSOLE_TOKEN>.');
    }
    return checkChange(req, res, next);
  };
}

function checkChange(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  if (req.get(CHANGE_HEADER) !== '1') {
    return refuse(req, res, 403, `Console changes must carry the header ${CHANGE_HEADER}: 1.`);
  }
  const origin = req.get('origin');
  if (origin !== undefined && safeHost(origin) !== req.headers.host) {
    return refuse(req, res, 403, 'Console changes are only accepted from the console itself.');
  }
  next();
}

function refuse(req: Request, res: Response, status: number, message: string): void {
  if (req.path.startsWith('/api/') || req.baseUrl.startsWith('/api')) {
    res.status(status).json({ ok: false, code: status === 401 ? 'not_authenticated' : 'forbidden', message });
  } else {
    res.status(status).type('text/plain').send(message + '\n');
  }
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

function hostName(host: string | undefined): string {
  if (!host) return '';
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.replace(/:\d+$/, '').toLowerCase();
}

function safeHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1];
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function withoutToken(originalUrl: string): string {
  const u = new URL(originalUrl, 'http://console.invalid');
  u.searchParams.delete('token');
  return u.pathname + u.search;
}
