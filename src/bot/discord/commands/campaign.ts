/**
 * `/campaign <subcommand>`: the same subcommands as Slack's `/campaign` text command.
 * Discord hands us a subcommand with typed options; they are turned back into the text
 * the shared router (runCampaignCommand) parses, so both surfaces behave identically.
 */
import { ButtonStyle, ComponentType, InteractionContextType, SlashCommandBuilder, type SlashCommandStringOption } from 'discord.js';
import { runCampaignCommand } from '../../commands.ts';
import { actorOf, discordMarkdown } from '../context.ts';
import type { CommandOption, Interaction } from '../payload.ts';
import { confirmButtonId } from '../render.ts';
import type { InteractionReply } from '../respond.ts';
import type { Command } from './command.ts';

const THREAD_TYPES = new Set([10, 11, 12]);

/** The channel a command speaks for: a batch thread counts as its parent channel. */
export function commandChannel(i: Interaction): string {
  if (i.channel && THREAD_TYPES.has(i.channel.type) && i.channel.parent_id) return i.channel.parent_id;
  return i.channel?.id ?? i.channel_id ?? '';
}

const campaignOption = (required: boolean) => (o: SlashCommandStringOption) =>
  o
    .setName('campaign')
    .setDescription(required ? 'Campaign name' : 'Campaign name (optional when this channel has one running campaign)')
    .setRequired(required)
    .setMaxLength(80);

const data = new SlashCommandBuilder()
  .setName('campaign')
  .setDescription('Human-approved SMS campaigns: status, pause, generate, settings and more')
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((s) => s.setName('help').setDescription('What /campaign can do'))
  .addSubcommand((s) => s.setName('list').setDescription('Every campaign and its state'))
  .addSubcommand((s) => s.setName('status').setDescription('Counts by status, next send, ETA').addStringOption(campaignOption(false)))
  .addSubcommand((s) => s.setName('preview').setDescription('The planned send schedule').addStringOption(campaignOption(false)))
  .addSubcommand((s) =>
    s
      .setName('generate')
      .setDescription('Write a new batch of suggestions for approval')
      .addStringOption(campaignOption(true))
      .addStringOption((o) =>
        o.setName('segment').setDescription('Audience: all, lapsed:60, new:30, vip:500 or JSON criteria').setRequired(true).setMaxLength(1000),
      )
      .addIntegerOption((o) => o.setName('limit').setDescription('At most this many messages').setMinValue(1).setMaxValue(10000)),
  )
  .addSubcommand((s) => s.setName('pause').setDescription('Stop sending').addStringOption(campaignOption(false)))
  .addSubcommand((s) => s.setName('resume').setDescription('Restart sending').addStringOption(campaignOption(false)))
  .addSubcommand((s) =>
    s
      .setName('cancel')
      .setDescription('Cancel every message not sent yet (asks to confirm)')
      .addStringOption(campaignOption(false))
      .addBooleanOption((o) => o.setName('confirm').setDescription('Skip the confirmation question')),
  )
  .addSubcommand((s) =>
    s
      .setName('test')
      .setDescription('Send one message to a test number')
      .addStringOption(campaignOption(true))
      .addStringOption((o) => o.setName('phone').setDescription('Test phone number, e.g. +14155550123').setRequired(true).setMaxLength(32)),
  )
  .addSubcommand((s) =>
    s
      .setName('settings')
      .setDescription('Show or change hours, caps, pacing')
      .addStringOption(campaignOption(false))
      .addStringOption((o) => o.setName('changes').setDescription('key=value pairs, e.g. hours=10:00-18:00 per_hour=60').setMaxLength(1000)),
  )
  .addSubcommand((s) => s.setName('report').setDescription('Delivery, replies and opt-outs').addStringOption(campaignOption(false)))
  .addSubcommand((s) =>
    s
      .setName('optout')
      .setDescription('Record an opt-out a customer asked for in their own words')
      .addStringOption((o) => o.setName('who').setDescription('Their phone number, or reply:ID as shown under their reply').setRequired(true).setMaxLength(32)),
  )
  .addSubcommand((s) =>
    s
      .setName('sent')
      .setDescription("Record a message in review as sent: the provider's log shows its SMS")
      .addIntegerOption((o) => o.setName('message').setDescription('The message number shown on its card').setRequired(true).setMinValue(1))
      .addStringOption((o) => o.setName('sms').setDescription("Its SMS id in the provider's log (several, one per bubble, separated by spaces or commas)").setRequired(true).setMaxLength(400)),
  )
  .toJSON();

/**
 * A word for the router's tokenizer: quoted when it holds spaces (campaign names may), with
 * the quote it does not contain (segment criteria are JSON, full of double quotes).
 */
function word(v: string): string {
  if (v !== '' && !/\s/.test(v)) return v;
  if (!v.includes('"')) return `"${v}"`;
  if (!v.includes("'")) return `'${v}'`;
  return `"${v.replace(/"/g, "'")}"`; // both quotes and a space: the tokenizer cannot take it whole
}

/** Subcommand + options -> the text after "/campaign" that runCampaignCommand parses. */
export function commandText(options: CommandOption[]): string {
  const sub = options[0];
  if (!sub) return 'help';
  const opt = new Map((sub.options ?? []).map((o) => [o.name, o.value]));
  const parts = [sub.name];
  const campaign = opt.get('campaign');
  if (typeof campaign === 'string' && campaign.trim()) parts.push(word(campaign.trim()));
  switch (sub.name) {
    case 'generate':
      parts.push(word(String(opt.get('segment') ?? '')));
      if (opt.get('limit') !== undefined) parts.push(`limit=${Number(opt.get('limit'))}`);
      break;
    case 'test':
      parts.push(word(String(opt.get('phone') ?? '')));
      break;
    case 'optout':
      parts.push(word(String(opt.get('who') ?? '')));
      break;
    case 'sent':
      parts.push(String(Number(opt.get('message'))), word(String(opt.get('sms') ?? '').trim()));
      break;
    case 'settings':
      if (typeof opt.get('changes') === 'string') parts.push(String(opt.get('changes')).trim());
      break;
    case 'cancel':
      if (opt.get('confirm') === true) parts.push('confirm');
      break;
  }
  return parts.filter(Boolean).join(' ');
}

export default {
  data,
  async execute(deps, i, options) {
    const actor = actorOf(i, deps.approverRoleId);
    const reply = await runCampaignCommand(deps.ctx, actor, { text: commandText(options), channel: commandChannel(i) });
    const out: InteractionReply = { message: { content: discordMarkdown(reply.text), ephemeral: reply.visibility === 'ephemeral' } };
    if (reply.confirm) {
      const id = confirmButtonId(reply.confirm.command);
      if (id) {
        out.message!.components = [
          {
            type: ComponentType.ActionRow,
            components: [{ type: ComponentType.Button, style: ButtonStyle.Danger, label: reply.confirm.prompt.slice(0, 80), custom_id: id }],
          },
        ];
      } else {
        out.message!.content += '\nTo go ahead, run the same command with `confirm: True`.';
      }
    }
    return out;
  },
} satisfies Command;
