import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { registerEditSubmit } from './editSubmit.ts';

export function register(app: App, deps: SlackDeps): void {
  registerEditSubmit(app, deps);
}
