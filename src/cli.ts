/**
 * The `smsops` command line. Each command lives in src/cli/commands/<name>.ts and is
 * registered here with one line.
 */
import { Command } from 'commander';
import { AppError, coerceError } from './errors.ts';
import { registerMigrate } from './cli/commands/migrate.ts';
import { registerStart } from './cli/commands/start.ts';
import { registerStatus } from './cli/commands/status.ts';
import { registerDemo } from './cli/commands/demo.ts';
import { registerGenerate } from './cli/commands/generate.ts';
import { registerDiscord } from './cli/commands/discord.ts';
import { registerReport } from './cli/commands/report.ts';
import { registerImport } from './cli/commands/import.ts';
import { registerPreview } from './cli/commands/preview.ts';

const program = new Command()
  .name('smsops')
  .description('Human-approved SMS campaigns, run from chat.')
  .showHelpAfterError('(run smsops --help for usage)')
  .configureOutput({ outputError: (s, write) => write(s) });

registerStart(program);
registerDemo(program);
registerMigrate(program);
registerStatus(program);
registerGenerate(program);
registerDiscord(program);
registerReport(program);
registerImport(program);
registerPreview(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = coerceError(e);
  process.stderr.write(`smsops: ${err.message}\n`);
  if (!(err instanceof AppError) && process.env.LOG_LEVEL === 'debug') process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
}
