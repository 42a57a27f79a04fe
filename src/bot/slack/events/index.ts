import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { registerAppMention } from './appMention.ts';

export function register(app: App, deps: SlackDeps): void {
  registerAppMention(app, deps);
}
