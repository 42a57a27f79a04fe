/**
 * POST /discord/interactions: Discord's "Interactions Endpoint URL". Every request is
 * checked against DISCORD_PUBLIC_KEY (Ed25519 over timestamp + raw body) before anything
 * else; a bad or missing signature gets 401 and changes nothing (Discord itself sends
 * such requests to test the endpoint). The first answer is the HTTP response; later
 * follow-ups go through the interaction webhook.
 */
import type { KeyObject } from 'node:crypto';
import express from 'express';
import type { APIInteractionResponse } from 'discord.js';
import { coerceError } from '../../errors.ts';
import type { DiscordDeps } from './context.ts';
import { dispatchInteraction } from './dispatch.ts';
import { isFreshTimestamp, verifyDiscordSignature } from './verify.ts';

export const INTERACTIONS_PATH = '/discord/interactions';

/** Tracks work that outlives its HTTP response (follow-ups), so shutdown and tests can wait for it. */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();
  add(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
  /** Resolves when everything started so far has finished. */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }
}

/** Mounts the endpoint on `app`. */
export function mountInteractionsEndpoint(app: express.Express, deps: DiscordDeps, publicKey: KeyObject, inFlight: InFlight): void {
  app.post(INTERACTIONS_PATH, express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifyDiscordSignature(publicKey, req.get('x-signature-ed25519'), req.get('x-signature-timestamp'), raw)) {
      res.status(401).json({ error: 'invalid request signature' });
      return;
    }
    // Real time, not the app's clock: the timestamp is Discord's.
    if (!isFreshTimestamp(req.get('x-signature-timestamp'), Date.now())) {
      res.status(401).json({ error: 'stale request timestamp (more than 5 minutes from now): replayed, or this server\'s clock is wrong' });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      res.status(400).json({ error: 'body is not JSON' });
      return;
    }
    let answered!: (r: APIInteractionResponse | null) => void;
    const first = new Promise<APIInteractionResponse | null>((r) => (answered = r));
    const work = dispatchInteraction(deps, body, { respond: async (r) => answered(r) }, { answerDuplicates: true })
      .then((result) => {
        if (result === 'invalid') answered(null);
      })
      .catch((e: unknown) => {
        deps.ctx.log.error('discord interaction failed', { err: coerceError(e) });
        answered(null);
      });
    inFlight.add(work);
    const response = await first;
    if (response) res.json(response);
    else if (!res.headersSent) res.status(400).json({ error: 'interaction not understood' });
  });
}
