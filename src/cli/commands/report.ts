import type { Command } from 'commander';
import { campaignReport, formatReport, reportToCsv } from '../../analytics/report.ts';
import { getCampaignByName } from '../../db/queries/campaigns.ts';
import { AppError } from '../../errors.ts';
import { numberOption } from '../options.ts';
import { withDatabase } from '../runtime.ts';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('approval, delivery, response and opt-out rates of a campaign, per batch and per A/B variant')
    .requiredOption('--campaign <name>', 'the campaign to report on')
    .option('--json', 'machine-readable output (the whole report)')
    .option('--csv', 'one CSV row per campaign, batch and variant')
    .option('--window <days>', 'reply attribution window in days', numberOption({ min: 0.01, max: 90, fraction: true, example: '--window 7' }), 7)
    .action(async (opts: { campaign: string; json?: boolean; csv?: boolean; window: number }) => {
      if (opts.json && opts.csv) throw new AppError('bad_option', 'Choose one of --json and --csv.');
      await withDatabase(async (db) => {
        const campaign = await getCampaignByName(db.pool, opts.campaign);
        if (!campaign) throw new AppError('campaign_not_found', `No campaign named "${opts.campaign}". Run smsops status to list them.`);
        const report = await campaignReport(db.pool, campaign.id, { now: new Date(), attributionWindowDays: opts.window });
        if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else if (opts.csv) process.stdout.write(reportToCsv(report));
        else process.stdout.write(formatReport(report) + '\n');
      });
    });
}
