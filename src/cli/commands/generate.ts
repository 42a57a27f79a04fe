import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { systemClock } from '../../clock.ts';
import { generateBatch, type GenerateResult } from '../../generator/index.ts';
import { numberOption } from '../options.ts';
import { bar, progressLine } from '../progress.ts';
import { withDatabase } from '../runtime.ts';

interface GenerateOptions {
  campaign: string;
  segment: string;
  limit?: number;
  brief?: string;
  variant: string[];
  generator?: 'openai' | 'templates';
  type?: string;
  dryRun?: boolean;
  seed?: number;
  json?: boolean;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('write one suggested SMS per customer of a segment, as a batch for approval in chat')
    .requiredOption('--campaign <name>', 'campaign name (created when new)')
    .requiredOption('--segment <spec>', 'all, lapsed:DAYS, new:DAYS, vip:MIN_SPEND, or JSON criteria {"all":[{"field":"visits","op":">=","value":5}]}')
    .option('--limit <n>', 'at most this many customers', numberOption({ min: 1, max: 1_000_000, example: '--limit 50' }))
    .option('--brief <text>', 'goal, then optional parts: "offer: 10% off; tone: friendly; brand: Bean There; signoff: -Sam"')
    .option('--variant <spec>', 'an A/B arm, given 2 to 4 times when a campaign starts: NAME, or "NAME: the brief parts it changes" (e.g. "B: offer: a free pastry")', (v: string, all: string[]) => [...all, v], [])
    .addOption(new Option('--generator <name>', 'openai (default with OPENAI_API_KEY) or templates').choices(['openai', 'templates']))
    .addOption(new Option('--type <type>', 'campaign type (default: from the segment)').choices(['retention', 'welcome', 'vip', 'reminder', 'feedback']))
    .option('--dry-run', 'only count the audience, show exclusions and a sample')
    .option('--seed <n>', 'seed for the template choice (same seed, same texts)', numberOption({ min: 0, max: 2 ** 31 - 1, example: '--seed 42' }))
    .option('--json', 'machine-readable output')
    .action(async (opts: GenerateOptions) => {
      await withDatabase(async (db, config, log) => {
        const ctx = { config, db, log, clock: systemClock };
        const progress = progressLine(!opts.json && process.stderr.isTTY === true);
        const result = await generateBatch(
          ctx,
          {
            campaign: opts.campaign,
            segment: opts.segment,
            limit: opts.limit,
            brief: opts.brief,
            variants: opts.variant,
            generator: opts.generator,
            type: opts.type,
            dryRun: opts.dryRun,
            seed: opts.seed,
            actor: `cli:${userInfo().username}`,
            surface: 'cli',
          },
          progress && ((done, total) => progress.show(bar(done, total))),
        ).finally(() => progress?.clear());
        process.stdout.write(opts.json ? JSON.stringify(result, null, 2) + '\n' : summary(opts, result));
      });
    });
}

function summary(opts: GenerateOptions, r: GenerateResult): string {
  const excluded = Object.entries(r.exclusions).map(([k, n]) => `${k.replace(/_/g, ' ')} ${n}`).join(', ');
  const lines = [
    `Campaign "${opts.campaign}" · segment ${opts.segment} · generator ${r.generator}${r.variants ? ` · A/B variants ${r.variants.join(', ')}` : ''}`,
    `Customers: ${r.matched} in the segment after exclusions (excluded: ${excluded})`,
  ];
  if (r.batchId === null) {
    const n = opts.limit === undefined ? r.matched : Math.min(opts.limit, r.matched);
    lines.push(`Dry run: ${n} customer${n === 1 ? '' : 's'} would get a suggestion. Nothing was stored.`);
  } else {
    lines.push(
      `Suggestions: ${r.suggestions} in batch #${r.batchId} · lint findings: ${r.lintFindings} · estimated cost: $${r.estimatedCostUsd.toFixed(4)}`,
      'The batch is queued for posting in chat, where each suggestion waits for approval.',
    );
  }
  if (r.sample.length) {
    lines.push('Sample:');
    for (const s of r.sample) lines.push(`  ${s.name} (${s.phone})${s.body ? `: ${s.body.replace(/\n/g, ' / ')}` : ''}`);
  }
  return lines.join('\n') + '\n';
}
