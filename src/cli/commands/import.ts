import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { systemClock } from '../../clock.ts';
import { importCustomers, type ImportProgress, type ImportSummary } from '../../customers/importCustomers.ts';
import { numberOption } from '../options.ts';
import { progressLine } from '../progress.ts';
import { withDatabase } from '../runtime.ts';

export function registerImport(program: Command): void {
  const imp = program.command('import').description('import data into smsops');
  imp
    .command('customers <file>')
    .description('import or update customers from a CSV file (phone number = key; opt-outs are never changed)')
    .option('--json', 'print the summary as JSON')
    .option('--rejects <path>', 'where refused rows go (default: FILE.rejects.csv)')
    .option('--batch-size <n>', 'rows per database write', numberOption({ min: 1, max: 10_000, example: '--batch-size 1000' }), 1000)
    .action(async (file: string, opts: { json?: boolean; rejects?: string; batchSize: number }) => {
      await withDatabase(async (db, config, log) => {
        const progress = progressLine(process.stderr.isTTY === true && !opts.json);
        let summary: ImportSummary;
        try {
          summary = await importCustomers({ db, config, clock: systemClock, log }, file, {
            batchSize: opts.batchSize,
            rejectsPath: opts.rejects,
            actor: `cli:${userInfo().username}`,
            surface: 'cli',
            onProgress: progress && ((p) => progress.show(importProgressText(p))),
          });
        } finally {
          progress?.clear();
        }
        process.stdout.write(opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary));
        if (summary.rejected > 0) process.exitCode = 2;
      });
    });
}


/** `importing: 42%  12,000 rows  8,000 rows/s` */
function importProgressText(p: ImportProgress): string {
  const pct = p.totalBytes ? Math.min(100, Math.floor((p.bytes / p.totalBytes) * 100)) : 0;
  const rate = p.elapsedMs > 0 ? Math.round((p.rows * 1000) / p.elapsedMs) : 0;
  return `importing: ${pct}%  ${p.rows.toLocaleString('en-US')} rows  ${rate.toLocaleString('en-US')} rows/s`;
}

export function formatSummary(s: ImportSummary): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `${s.file}: ${n(s.rows)} rows in ${(s.durationMs / 1000).toFixed(1)} s (${n(s.rowsPerSecond)} rows/s)`,
    `  imported    ${n(s.imported)}`,
    `  updated     ${n(s.updated)}`,
    `  unchanged   ${n(s.unchanged)}`,
    `  rejected    ${n(s.rejected)}${s.rejectsFile ? `  -> ${s.rejectsFile}` : ''}`,
    `  duplicates  ${n(s.duplicates)}${s.duplicates ? '  (same phone again; later values win)' : ''}`,
  ];
  if (s.consent.granted || s.consent.withdrawn) {
    lines.push(`  consent     ${n(s.consent.granted)} granted, ${n(s.consent.withdrawn)} withdrawn (as stated in the file)`);
  }
  if (s.optedOut) lines.push(`  opted out   ${n(s.optedOut)} (they replied STOP and stay opted out)`);
  const mapped = s.columns.filter((c) => c.field !== 'attributes' && c.field !== 'ignored');
  const extra = s.columns.filter((c) => c.field === 'attributes');
  lines.push(`Columns: ${mapped.map((c) => `${c.header} -> ${c.field}`).join(', ')}`);
  if (extra.length) lines.push(`Kept as attributes: ${extra.map((c) => c.header).join(', ')}`);
  if (s.rejects.length) {
    lines.push('Rejected rows:');
    for (const r of s.rejects) lines.push(`  line ${r.line}: ${r.reason}`);
    if (s.rejected > s.rejects.length) lines.push(`  ... ${n(s.rejected - s.rejects.length)} more in ${s.rejectsFile ?? 'the rejects file'}`);
  }
  if (s.duplicateRows.length) {
    lines.push('Duplicates (folded into the earlier row):');
    for (const d of s.duplicateRows) lines.push(`  line ${d.line}: ${d.phone}`);
    if (s.duplicates > s.duplicateRows.length) lines.push(`  ... ${n(s.duplicates - s.duplicateRows.length)} more`);
  }
  if (s.rows === 0) lines.push('The file has a header but no customer rows.');
  return lines.join('\n') + '\n';
}
