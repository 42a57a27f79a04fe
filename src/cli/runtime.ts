/** Shared by CLI commands: config from the environment (and .env), a logger, the database. */
import { loadConfig, loadDotEnv, type Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { openDatabase } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger, type Logger } from '../log.ts';

export function cliConfig(): { config: Config; log: Logger } {
  loadDotEnv();
  const config = loadConfig();
  return { config, log: createLogger(config.env.LOG_LEVEL) };
}

/** Opens (and migrates) the configured database for one command, and closes it after. */
export async function withDatabase<T>(fn: (db: Database, config: Config, log: Logger) => Promise<T>): Promise<T> {
  const { config, log } = cliConfig();
  const db = await openDatabase(config, log);
  try {
    await migrate(db, log);
    return await fn(db, config, log);
  } finally {
    await db.close();
  }
}
