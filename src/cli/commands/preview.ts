import type { Command } from 'commander';
import { systemClock } from '../../clock.ts';
import { getCampaignByName } from '../../db/queries/campaigns.ts';
import { AppError } from '../../errors.ts';
import { formatPreview, previewCampaign } from '../../scheduler/preview.ts';
import { numberOption } from '../options.ts';
import { withDatabase } from '../runtime.ts';

export function registerPreview(program: Command): void {
  program
    .command('preview')
    .description('show the planned send schedule of a campaign (changes nothing)')
    .requiredOption('--campaign <name>', 'campaign name')
    .option('--max-lines <n>', 'most message lines to print', numberOption({ min: 1, max: 1_000_000, example: '--max-lines 50' }), 50)
    .option('--json', 'machine-readable output')
    .action(async (opts: { campaign: string; maxLines: number; json?: boolean }) => {
      await withDatabase(async (db, config, log) => {
        const campaign = await getCampaignByName(db.pool, opts.campaign);
        if (!campaign) throw new AppError('campaign_not_found', `No campaign named "${opts.campaign}". Run smsops status to list them.`);
        const p = await previewCampaign({ config, db, log, clock: systemClock }, campaign.id);
        process.stdout.write(opts.json ? JSON.stringify(p, null, 2) + '\n' : formatPreview(p, { maxLines: opts.maxLines }) + '\n');
      });
    });
}
