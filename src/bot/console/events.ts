/**
 * The console's live updates: every change the surface stores (or a phone sees) is
 * published here and streamed to open browsers as server-sent events.
 */
import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import type { ConsolePost } from './queries.ts';

export type ConsoleEvent =
  /** A new post: top-level when `post.threadId` is null, else in that thread. */
  | { type: 'post'; post: ConsolePost }
  /** A post re-rendered in place (card, batch header, progress). */
  | { type: 'update'; post: ConsolePost }
  /** Something the phone panel shows changed (a send, a reply): re-read GET /api/phones. */
  | { type: 'phones' };

export class ConsoleEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private readonly streams = new Set<Response>();

  publish(event: ConsoleEvent): void {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: ConsoleEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  /** Open browser streams right now (the phone watcher idles without any). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Turns `res` into an event stream until the browser goes away or `closeAll()`. */
  stream(res: Response, heartbeatMs = 15_000): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    // The browser reconnects by itself after 2 s and then re-reads the API.
    res.write('retry: 2000\n\n');
    const unsubscribe = this.subscribe((e) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`));
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    this.streams.add(res);
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.streams.delete(res);
    });
  }

  /** Ends every open stream (shutdown). */
  closeAll(): void {
    for (const res of this.streams) res.end();
    this.streams.clear();
  }
}
