import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { registerCampaign } from './campaign.ts';

/** Slash commands by name; test/slack/manifest-commands.test.ts checks manifest.yml against this list. */
export const SLASH_COMMANDS = ['/campaign'] as const;

export function register(app: App, deps: SlackDeps): void {
  registerCampaign(app, deps);
}
