import type { Command } from 'commander';
import { AppError } from '../../errors.ts';
import { MESSAGE_STATUSES } from '../../domain/messageStatus.ts';
import { campaignCounts } from '../../db/queries/messageCounts.ts';
import { withDatabase } from '../runtime.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('message counts by campaign and status')
    .option('--campaign <name>', 'only this campaign')
    .option('--json', 'machine-readable output')
    .action(async (opts: { campaign?: string; json?: boolean }) => {
      await withDatabase(async (db) => {
        const rows = await campaignCounts(db.pool, opts.campaign);
        if (opts.campaign && rows.length === 0) {
          throw new AppError('campaign_not_found', `No campaign named "${opts.campaign}". Run smsops status to list them.`);
        }
        if (opts.json) {
          process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
          return;
        }
        if (rows.length === 0) {
          process.stdout.write('No campaigns yet. Create one with: smsops generate --campaign NAME --segment lapsed:60\n');
          return;
        }
        const used = MESSAGE_STATUSES.filter((s) => rows.some((r) => r.counts[s]));
        const header = ['campaign', 'state', ...used, 'total'];
        const table = rows.map((r) => [r.name, r.status, ...used.map((s) => String(r.counts[s] ?? 0)), String(r.total)]);
        const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
        const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
        process.stdout.write([line(header), ...table.map(line)].join('\n') + '\n');
      });
    });
}
