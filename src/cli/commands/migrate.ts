import type { Command } from 'commander';
import { withDatabase } from '../runtime.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (start does this too)')
    .action(async () => {
      // withDatabase migrates before handing over the database.
      await withDatabase(async (db) => {
        const { rows } = await db.pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY version');
        process.stdout.write(`database is up to date (${db.engine}): ${rows.map((r) => r.name).join(', ')}\n`);
      });
    });
}
