import type { Command } from 'commander';
import { startService } from '../../main.ts';
import { cliConfig } from '../runtime.ts';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the service: HTTP server, chat surfaces, scheduler (embedded defaults when nothing is configured)')
    .action(async () => {
      const { config, log } = cliConfig();
      const service = await startService({ config, log });
      process.stdout.write(`smsops is running at ${service.url} (Ctrl+C to stop)\n`);
      let signals = 0;
      const shutdown = (sig: string) => {
        if (++signals > 1) process.exit(1);
        log.info('shutting down: draining in-flight sends', { signal: sig });
        service.stop().then(
          () => process.exit(0),
          (err) => {
            log.error('shutdown failed', { err });
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    });
}
