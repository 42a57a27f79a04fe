import type { App } from '@slack/bolt';
import { z } from 'zod';
import { editMessage } from '../../approvals.ts';
import { ACTION_IDS, EDIT_BLOCK_ID, EDIT_VIEW_ID } from '../blocks.ts';
import { slackActor, type SlackDeps } from '../deps.ts';

const metadata = z.object({ messageId: z.number().int(), version: z.number().int(), channel: z.string(), thread: z.string().optional() });

/**
 * Saving the edit modal. Slack only shows field errors when they come in the ack itself,
 * so this one validates and edits before acking (both take milliseconds), then acks with
 * the errors or closes the modal.
 */
export function registerEditSubmit(app: App, deps: SlackDeps): void {
  app.view(EDIT_VIEW_ID, async ({ ack, body, view }) => {
    const meta = metadata.safeParse(JSON.parse(view.private_metadata || '{}'));
    if (!meta.success) {
      await ack({ response_action: 'errors', errors: { [EDIT_BLOCK_ID]: 'This form is out of date: close it and click Edit again.' } });
      return;
    }
    const text = view.state.values[EDIT_BLOCK_ID]?.[ACTION_IDS.editText]?.value ?? '';
    // Fenced on the version the modal was opened at: a save over someone else's newer text is refused.
    const r = await editMessage(deps.ctx, slackActor(deps, body.user), meta.data.messageId, text, meta.data.version);
    if (r.ok) {
      await ack();
      return;
    }
    const errors = r.code !== 'stale' && r.errors?.length ? r.errors.map((e) => `• ${e}`).join('\n') : r.message;
    await ack({ response_action: 'errors', errors: { [EDIT_BLOCK_ID]: errors.slice(0, 2000) } });
  });
}
