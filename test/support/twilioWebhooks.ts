/** Our Twilio webhook routes on a local HTTP server, and POSTs to them signed as Twilio signs them. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { AppContext } from '../../src/context.ts';
import { mountTwilioWebhooks } from '../../src/sms/webhooks.ts';
import { twilioSignature } from '../peers/twilio.ts';

/** The settings that mount the webhook routes: Twilio configured with `authToken`, reached at `publicUrl`. */
export function twilioWebhookEnv(authToken: string, publicUrl: string): Record<string, string> {
  return { TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: authToken, TWILIO_FROM_NUMBER: '+14155550100', PUBLIC_URL: publicUrl };
}

export interface WebhookServer {
  /** The server's own URL (http://127.0.0.1:PORT). */
  base: string;
  close(): Promise<void>;
}

/** `ctx`'s webhook routes on 127.0.0.1, on a free port. */
export async function serveTwilioWebhooks(ctx: AppContext): Promise<WebhookServer> {
  const app = express();
  mountTwilioWebhooks(app, ctx);
  const server = await new Promise<Server>((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** POSTs `params` to `base + path`, signed with `authToken` for `signedUrl` (the URL Twilio was configured with). */
export async function postSignedWebhook(base: string, path: string, params: Record<string, string>, sign: { authToken: string; signedUrl: string }): Promise<Response> {
  return fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': await twilioSignature(sign.authToken, sign.signedUrl, params) },
    body: new URLSearchParams(params).toString(),
  });
}
