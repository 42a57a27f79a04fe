import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { registerApprove } from './approve.ts';
import { registerBulk } from './bulk.ts';
import { registerConfirmCommand } from './confirmCommand.ts';
import { registerEdit } from './edit.ts';
import { registerReject } from './reject.ts';

export function register(app: App, deps: SlackDeps): void {
  registerApprove(app, deps);
  registerReject(app, deps);
  registerEdit(app, deps);
  registerBulk(app, deps);
  registerConfirmCommand(app, deps);
}
