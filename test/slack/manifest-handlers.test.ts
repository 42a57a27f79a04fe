import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { SLASH_COMMANDS } from '../../src/bot/slack/commands/index.ts';
import { openTestDatabase } from '../support/db.ts';
import { postToSlackEndpoint, slackSignatureHeaders, slashCommandForm } from '../peers/slack.ts';
import { CHANNEL, DANA, SECRET, eventually, startSlackHarness, type SlackHarness } from './support.ts';

const manifest = readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8');
const manifestCommands = [...manifest.matchAll(/^\s*-\s*command:\s*(\S+)/gm)].map((m) => m[1]!);
const botEvents = [...(/bot_events:\n((?:\s+-\s*\S+\n)+)/.exec(manifest)?.[1] ?? '').matchAll(/-\s*(\S+)/g)].map((m) => m[1]!);

describe('manifest.yml', () => {
  let db: Database;
  let h: SlackHarness;
  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    h = await startSlackHarness(db, { outbox: false });
  });
  afterAll(async () => {
    await h?.close();
    await db?.close();
  });

  it('points every URL at /slack/events and asks for the scopes the surface uses', () => {
    const urls = [...manifest.matchAll(/(?:url|request_url):\s*(\S+)/g)].map((m) => m[1]);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    for (const u of urls) expect(u).toBe('https://YOUR-PUBLIC-URL/slack/events');
    for (const scope of ['chat:write', 'commands', 'files:write', 'app_mentions:read', 'channels:history', 'groups:history']) expect(manifest).toContain(`- ${scope}\n`);
    expect(manifestCommands).toEqual([...SLASH_COMMANDS]);
    expect(botEvents).toEqual(['app_mention']); // else the per-event tests below would silently be none
  });

  it.each(manifestCommands)('%s has a handler that answers through response_url', async (command) => {
    const id = `manifest-${command}`;
    const res = await postToSlackEndpoint(h.eventsUrl, SECRET, slashCommandForm({ command, text: 'help', user: DANA, channel: CHANNEL, responseUrl: h.peer.responseUrl(id) }));
    expect(res.status).toBe(200);
    const reply = await eventually(() => {
      const r = h.peer.responses.find((x) => x.id === id);
      if (!r) throw new Error('no reply yet');
      return r.body;
    });
    expect(String(reply.text)).toContain('/campaign');
  });

  it.each(botEvents)('the %s event has a handler', async (type) => {
    const body = JSON.stringify({
      token: 'legacy',
      team_id: 'T1',
      api_app_id: 'A1',
      type: 'event_callback',
      event_id: `Ev${Date.now()}`,
      event_time: Math.floor(Date.now() / 1000),
      event: { type, user: DANA.id, text: '<@UBOT> help', ts: '1700000000.000100', channel: CHANNEL, event_ts: '1700000000.000100' },
      authorizations: [{ team_id: 'T1', user_id: 'UBOT', is_bot: true }],
    });
    const before = h.peer.callsTo('chat.postEphemeral').length;
    const res = await fetch(h.eventsUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...slackSignatureHeaders(SECRET, body) }, body });
    expect(res.status).toBe(200);
    const answer = await eventually(() => {
      const e = h.peer.callsTo('chat.postEphemeral').slice(before)[0];
      if (!e) throw new Error('no answer yet');
      return e;
    });
    expect(answer.body).toMatchObject({ channel: CHANNEL, user: DANA.id, thread_ts: '1700000000.000100' });
    expect(String(answer.body.text)).toContain('/campaign');
  });
});
