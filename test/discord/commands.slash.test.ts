import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tokenize } from '../../src/bot/commands.ts';
import { commandText } from '../../src/bot/discord/commands/campaign.ts';
import { commands } from '../../src/bot/discord/commands/index.ts';
import { discordMarkdown } from '../../src/bot/discord/context.ts';
import { smsIdsOf } from '../../src/sms/markSent.ts';
import { handleGatewayInteraction } from '../../src/bot/discord/gateway.ts';
import type { CommandOption } from '../../src/bot/discord/payload.ts';
import { startDiscordPeer } from '../peers/discord.ts';
import { engines } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { APP_ID, APPROVER_ROLE, buttonClick, CHANNEL_ID, slashCommand, startHarness, type Harness } from './harness.ts';

const run = promisify(execFile);

function sub(name: string, options: Record<string, string | number | boolean> = {}): CommandOption[] {
  return [{ name, type: 1, options: Object.entries(options).map(([n, value]) => ({ name: n, type: 3, value })) }];
}

describe('/campaign subcommands become the text the shared router parses', () => {
  it.each([
    [sub('help'), 'help'],
    [sub('list'), 'list'],
    [sub('status'), 'status'],
    [sub('status', { campaign: 'spring' }), 'status spring'],
    [sub('pause', { campaign: 'spring promo' }), 'pause "spring promo"'],
    [sub('resume', { campaign: 'spring' }), 'resume spring'],
    [sub('cancel', { campaign: 'spring' }), 'cancel spring'],
    [sub('cancel', { campaign: 'spring', confirm: true }), 'cancel spring confirm'],
    [sub('preview', { campaign: 'spring' }), 'preview spring'],
    [sub('generate', { campaign: 'spring', segment: 'lapsed:60', limit: 50 }), 'generate spring lapsed:60 limit=50'],
    [sub('generate', { campaign: 'spring', segment: '{"all":[{"field":"visits","op":">=","value":5}]}' }), 'generate spring {"all":[{"field":"visits","op":">=","value":5}]}'],
    [sub('generate', { campaign: 'spring', segment: '{"all": [{"field": "visits", "op": ">=", "value": 5}]}' }), `generate spring '{"all": [{"field": "visits", "op": ">=", "value": 5}]}'`],
    [sub('test', { campaign: 'spring', phone: '+14155550123' }), 'test spring +14155550123'],
    [sub('settings', { campaign: 'spring' }), 'settings spring'],
    [sub('settings', { campaign: 'spring', changes: 'hours=10:00-18:00 per_hour=60' }), 'settings spring hours=10:00-18:00 per_hour=60'],
    [sub('report', { campaign: 'spring' }), 'report spring'],
    [sub('optout', { who: 'reply:42' }), 'optout reply:42'],
    [sub('optout', { who: '(415) 555-0123' }), 'optout "(415) 555-0123"'],
    [sub('sent', { message: 42, sms: 'SMaaa' }), 'sent 42 SMaaa'],
    [sub('sent', { message: 42, sms: ' SMaaa, SMbbb  SMccc' }), 'sent 42 "SMaaa, SMbbb  SMccc"'],
  ])('%j -> %s', (options, text) => {
    expect(commandText(options)).toBe(text);
  });

  it('several SMS ids in the sent option reach /campaign sent one by one, however they are separated', () => {
    const words = tokenize(commandText(sub('sent', { message: 42, sms: ' SMaaa, SMbbb  SMccc' })));
    expect(words.slice(0, 2)).toEqual(['sent', '42']);
    expect(smsIdsOf(words.slice(2))).toEqual(['SMaaa', 'SMbbb', 'SMccc']);
  });

  it('every option value reaches the router whole, whatever quotes and spaces it holds', () => {
    const segment = '{"all": [{"field": "visits", "op": ">=", "value": 5}]}';
    expect(tokenize(commandText(sub('generate', { campaign: "Bella's spring", segment })))).toEqual(['generate', "Bella's spring", segment]);
    expect(JSON.parse(tokenize(commandText(sub('generate', { campaign: 'spring', segment })))[2]!)).toEqual({ all: [{ field: 'visits', op: '>=', value: 5 }] });
  });

  it('registers the same subcommands as Slack, guild-only', () => {
    const data = commands.get('campaign')!.data;
    expect(data.options!.map((o) => o.name).sort()).toEqual(
      ['cancel', 'generate', 'help', 'list', 'optout', 'pause', 'preview', 'report', 'resume', 'sent', 'settings', 'status', 'test'].sort(),
    );
    expect(data.contexts).toEqual([0]);
  });

  it("turns the router's Slack mrkdwn into Discord markdown, leaving code alone", () => {
    expect(discordMarkdown('*spring* (active) – `*not bold*` <https://x.test|site>')).toBe('**spring** (active) – `*not bold*` [site](https://x.test)');
  });
});

describe.each(engines)('/campaign over the interactions endpoint on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engine, { approverRoleId: APPROVER_ROLE });
    await insertCampaign(h.db.pool, { name: 'spring', status: 'active', chatSurface: 'discord', chatChannel: CHANNEL_ID });
  });
  afterAll(() => h?.close());
  beforeEach(() => h.peer.reset());

  it('answers /campaign list at once, only to the person who asked', async () => {
    const r = await h.send(slashCommand('list', {}, { roles: [APPROVER_ROLE] }));
    expect(r.json).toMatchObject({ type: 4, data: { flags: 64 } });
    expect((r.json as { data: { content: string } }).data.content).toContain('**spring** (active)');
  });

  it('refuses a mutating subcommand to a member without the approver role', async () => {
    const r = await h.send(slashCommand('pause', { campaign: 'spring' }, { roles: [], name: 'Guest' }));
    expect((r.json as { data: { content: string } }).data.content).toContain('only approvers can run `/campaign pause`');
    const { rows } = await h.db.pool.query(`SELECT status FROM campaigns WHERE name = 'spring'`);
    expect(rows[0].status).toBe('active');
  });

  it('asks before cancelling; the confirm button runs the confirmed command', async () => {
    const ask = (await h.send(slashCommand('cancel', { campaign: 'spring' }, { roles: [APPROVER_ROLE] }))).json as {
      type: number; data: { content: string; components: { components: { custom_id: string }[] }[] };
    };
    expect(ask.type).toBe(4);
    expect(ask.data.content).toContain('Cancel campaign **spring**?');
    const button = ask.data.components[0]!.components[0]!.custom_id;
    expect(button).toBe('run:cancel "spring" confirm');
    const done = (await h.send(buttonClick(button, { messageId: '1100000000000000050', channelId: CHANNEL_ID }, { roles: [APPROVER_ROLE] }))).json;
    expect(done).toMatchObject({ type: 7, data: { content: 'Confirmed.', components: [] } });
    await h.discord.idle();
    const { rows } = await h.db.pool.query(`SELECT status FROM campaigns WHERE name = 'spring'`);
    expect(rows[0].status).toBe('cancelled');
    const followUp = h.peer.callsTo('POST', /^\/webhooks\//);
    expect(followUp).toHaveLength(1);
  });
});

describe.each(engines)('slow /campaign answers and the gateway on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engine, { deferAfterMs: 0 });
  });
  afterAll(() => h?.close());
  beforeEach(() => h.peer.reset());

  it('defers with an ephemeral "thinking" (type 5) and edits it through the webhook', async () => {
    const cmd = slashCommand('help');
    expect((await h.send(cmd)).json).toEqual({ type: 5, data: { flags: 64 } });
    await h.discord.idle();
    const edits = h.peer.callsTo('PATCH', new RegExp(`^/webhooks/${APP_ID}/${cmd.token}/messages/@original$`));
    expect(edits).toHaveLength(1);
    expect((edits[0]!.body as { content: string }).content).toContain('**/campaign** commands');
  });

  it('a gateway interaction is answered through the callback endpoint, once even if delivered twice', async () => {
    const deps = {
      ctx: h.ctx, rest: h.discord.surface.rest, applicationId: APP_ID, approverRoleId: undefined, deferAfterMs: 10_000,
    };
    const cmd = slashCommand('list');
    await handleGatewayInteraction(deps, cmd);
    await handleGatewayInteraction(deps, cmd);
    const callbacks = h.peer.callsTo('POST', /^\/interactions\//);
    expect(callbacks.map((c) => c.path)).toEqual([`/interactions/${cmd.id}/${cmd.token}/callback`]);
    expect(callbacks[0]).toMatchObject({ status: 204, authorized: false, body: { type: 4, data: { flags: 64 } } });
  });
});

describe('smsops discord deploy-commands', () => {
  it('PUTs /campaign to the application (or one guild) through discord.js REST', async () => {
    const peer = await startDiscordPeer();
    try {
      const env = {
        ...process.env, LOG_LEVEL: 'silent', DISCORD_TOKEN: peer.token, DISCORD_APPLICATION_ID: APP_ID,
        DISCORD_CHANNEL_ID: CHANNEL_ID, DISCORD_API_URL: peer.api,
      };
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'discord', 'deploy-commands', '--guild', '1100000000000000003'], { env });
      expect(stdout).toContain('Registered /campaign (13 subcommands) in server 1100000000000000003');
      const put = peer.callsTo('PUT', /^\/applications\//);
      expect(put.map((c) => [c.path, c.authorized])).toEqual([[`/applications/${APP_ID}/guilds/1100000000000000003/commands`, true]]);
      expect(peer.commands.get('1100000000000000003')).toMatchObject([{ name: 'campaign', application_id: APP_ID }]);
    } finally {
      await peer.close();
    }
  });
});
