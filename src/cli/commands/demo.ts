import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { demoClockStart, loadDemoData } from '../../bot/console/demo.ts';
import { ScaledClock } from '../../clock.ts';
import { loadConfig, loadDotEnv } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { startService } from '../../main.ts';
import { numberOption } from '../options.ts';

/** Chat, SMS and LLM credentials never reach the demo: it talks to the console and the local outbox only. */
const EXTERNAL = /^(DATABASE_URL|SMSOPS_DATA_DIR|SLACK_|DISCORD_|TWILIO_|OPENAI_)/;

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the service on a fast clock with demo data in a fresh embedded database: a whole campaign in a couple of minutes')
    .option('--speed <factor>', 'how many times faster than real time the clock runs', numberOption({ min: 1, max: 3600, fraction: true, example: '--speed 30' }), 40)
    .action(async ({ speed }: { speed: number }) => {
      loadDotEnv();
      const dataDir = mkdtempSync(join(tmpdir(), 'smsops-demo-'));
      const env: NodeJS.ProcessEnv = { SCHEDULER_TICK_SECONDS: '1', SMSOPS_DATA_DIR: dataDir };
      for (const [k, v] of Object.entries(process.env)) if (!EXTERNAL.test(k) && v !== undefined) env[k] = v;
      const config = loadConfig(env);
      const log = createLogger(config.env.LOG_LEVEL);
      const clockStart = demoClockStart(new Date());
      const service = await startService({ config, log, clock: new ScaledClock(speed, clockStart) });
      const demo = await loadDemoData(service.ctx, 'demo');
      process.stdout.write(
        `smsops demo is running at ${service.url} (clock ${speed}x from ${clockStart.toISOString()}, database ${dataDir}; Ctrl+C to stop)\n${demo.message}\n`,
      );
      let signals = 0;
      const shutdown = () => {
        if (++signals > 1) process.exit(1);
        service.stop().then(
          () => {
            rmSync(dataDir, { recursive: true, force: true });
            process.exit(0);
          },
          (err) => {
            log.error('shutdown failed', { err });
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', shutdown);
      process.on('SIGINT', shutdown);
    });
}
