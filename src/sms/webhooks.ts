/**
 * Twilio's webhooks on the one express app: POST /twilio/inbound (incoming SMS, answered
 * with TwiML) and POST /twilio/status (delivery callbacks). Each request must carry a valid
 * X-Twilio-Signature for PUBLIC_URL + path; a forged one gets 403 and writes nothing.
 * Both are idempotent by MessageSid: a transaction that failed for a passing reason runs
 * again (Twilio itself never sends a webhook twice), and a replay from Twilio's console changes nothing.
 */
import express from 'express';
import twilio from 'twilio';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { normalizePhone } from '../domain/phone.ts';
import { incCounter } from '../http/metrics.ts';
import { escapeXml } from '../xml.ts';
import { handleInboundSms } from './inbound.ts';
import { INBOUND_PATH, STATUS_CALLBACK_PATH } from './index.ts';
import { handleStatusCallback } from './status.ts';

const inboundBody = z.object({
  MessageSid: z.string().min(1),
  From: z.string().min(1),
  To: z.string().optional(),
  Body: z.string().default(''),
});

const statusBody = z.object({
  MessageSid: z.string().min(1),
  MessageStatus: z.string().min(1),
  ErrorCode: z.string().optional(),
});

/** Mounts the two routes when Twilio is configured (without its auth token nothing can be verified). */
export function mountTwilioWebhooks(app: express.Express, ctx: AppContext): void {
  const t = ctx.config.twilio;
  if (!t) return;
  const urlencoded = express.urlencoded({ extended: false, limit: '64kb' });

  const verified: express.RequestHandler = (req, res, next) => {
    const signature = req.header('x-twilio-signature') ?? '';
    const url = ctx.config.http.publicUrl + req.originalUrl;
    const params = (req.body ?? {}) as Record<string, string>;
    if (!signature || !twilio.validateRequest(t.authToken, signature, url, params)) {
      incCounter('smsops_twilio_webhook_rejected_total', { path: req.path }, 1, 'Twilio webhooks refused for a bad signature');
      ctx.log.warn('refused a Twilio webhook with a bad signature', { path: req.originalUrl });
      res.status(403).type('text/plain').send('invalid X-Twilio-Signature');
      return;
    }
    next();
  };

  app.post(INBOUND_PATH, urlencoded, verified, async (req, res, next) => {
    try {
      const parsed = inboundBody.safeParse(req.body);
      if (!parsed.success) {
        res.status(400).type('text/plain').send('MessageSid and From are required');
        return;
      }
      const from = normalizePhone(parsed.data.From, ctx.config.phoneRegion);
      const r = await handleInboundSms(ctx, {
        providerMessageId: parsed.data.MessageSid,
        from: from.ok ? from.e164 : parsed.data.From,
        to: parsed.data.To ?? null,
        body: parsed.data.Body,
      });
      incCounter('smsops_inbound_sms_total', { kind: r.kind }, r.duplicate ? 0 : 1, 'Inbound SMS by kind');
      const twiml = r.reply ? `<Message>${escapeXml(r.reply)}</Message>` : '';
      res.type('text/xml').send(`<?xml version="1.0" encoding="UTF-8"?><Response>${twiml}</Response>`);
    } catch (e) {
      next(e);
    }
  });

  app.post(STATUS_CALLBACK_PATH, urlencoded, verified, async (req, res, next) => {
    try {
      const parsed = statusBody.safeParse(req.body);
      if (!parsed.success) {
        res.status(400).type('text/plain').send('MessageSid and MessageStatus are required');
        return;
      }
      await handleStatusCallback(ctx, {
        providerMessageId: parsed.data.MessageSid,
        status: parsed.data.MessageStatus.toLowerCase(),
        errorCode: parsed.data.ErrorCode || undefined,
        payload: req.body as Record<string, unknown>,
      });
      res.status(204).end();
    } catch (e) {
      next(e);
    }
  });
}
