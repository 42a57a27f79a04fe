/** Real-HTTP helpers for the console tests: JSON calls and a server-sent event reader. */
import http from 'node:http';

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** A console API call as the page makes it (POSTs carry the console's change header). */
export async function call(base: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const init: RequestInit = { headers: { Accept: 'application/json', ...headers }, redirect: 'manual' };
  if (body !== undefined) {
    init.method = 'POST';
    init.headers = { 'Content-Type': 'application/json', 'X-Smsops-Console': '1', ...init.headers };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export interface SseEvent {
  type: string;
  data: Record<string, unknown>;
}

/** Reads GET /api/events; `next(match)` resolves with the first event (seen or coming) that matches. */
export function openEvents(base: string, headers: Record<string, string> = {}): Promise<{
  next(match: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Every event so far, in order. */
  seen: readonly SseEvent[];
  close(): void;
  status: number;
  contentType: string;
}> {
  return new Promise((resolve, reject) => {
    const seen: SseEvent[] = [];
    const waiters: { match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
    const req = http.get(base + '/api/events', { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!type || !data) continue;
          const event = { type, data: JSON.parse(data) as Record<string, unknown> };
          seen.push(event);
          for (const w of [...waiters]) {
            if (w.match(event)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(event);
            }
          }
        }
      });
      res.on('error', () => undefined);
      resolve({
        status: res.statusCode ?? 0,
        contentType: String(res.headers['content-type'] ?? ''),
        seen,
        next(match, timeoutMs = 10_000) {
          const found = seen.find(match);
          if (found) return Promise.resolve(found);
          return new Promise((res2, rej2) => {
            const timer = setTimeout(() => rej2(new Error('no matching event arrived')), timeoutMs);
            waiters.push({
              match,
              resolve: (e) => {
                clearTimeout(timer);
                res2(e);
              },
            });
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}
