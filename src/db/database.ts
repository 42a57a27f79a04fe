/**
 * One database API over two engines. Every query goes through a `pg` Pool: against
 * PostgreSQL (DATABASE_URL), or against embedded PGlite served on a private loopback
 * port by ./pgliteServer.ts. One SQL dialect, one code path.
 *
 * PGlite is a single session, so its pool holds exactly one connection: transactions
 * run one after another, which is also why code inside `tx()` must only use the client
 * it is given (asking the pool again would wait for itself).
 */
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import type { Config } from '../config.ts';
import { AppError, coerceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { servePglite } from './pgliteServer.ts';
import { rerunTransient } from './transient.ts';

// int8 (bigint ids and counts) as JS numbers: our ids and counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
// numeric (money) as JS numbers.
pg.types.setTypeParser(1700, (v) => Number(v));

export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface Database {
  readonly engine: 'postgres' | 'pglite';
  readonly pool: pg.Pool;
  /** Runs `fn` in a transaction on one client; commits, or rolls back and rethrows. */
  tx<T>(fn: (client: pg.PoolClient) => Promise<T>, opts?: TxOptions): Promise<T>;
  close(): Promise<void>;
  /** Embedded engine only: a tarball of the data directory (for backups and test templates). */
  dumpDataDir?(): Promise<Blob>;
}

export interface TxOptions {
  /**
   * `fn` only changes the database and is idempotent (run twice, it changes nothing the
   * second time: a webhook deduplicated by its provider id): a transient failure (a deadlock,
   * a serialization failure, a connection lost, even during COMMIT) runs it again (see
   * ./transient.ts). For work nobody will send again: Twilio never retries a webhook.
   */
  rerunnable?: boolean;
}

/** A pool whose lost connections are logged, never fatal; listeners are on before any client connects. */
function newPool(config: pg.PoolConfig, log: Logger): pg.Pool {
  const pool = new pg.Pool(config);
  // An idle client losing its server (restart, terminated backend) must not crash the process.
  pool.on('error', (err) => log.warn('database connection lost; the pool will reconnect', { err }));
  // pg-pool listens for errors only on idle clients: a checked-out client whose server goes
  // away emits 'error' with no listener, which would crash the process. Its query fails on
  // its own and the pool discards the broken client on release.
  pool.on('connect', (client) => client.on('error', (err) => log.warn('database connection lost during a query', { err })));
  return pool;
}

/** `begin` opens a transaction (with its own settings: see IDLE_IN_TRANSACTION_MS). */
function wrap(engine: Database['engine'], pool: pg.Pool, log: Logger, onClose: () => Promise<void>, begin = 'BEGIN'): Database {
  return {
    engine,
    pool,
    async tx(fn, opts) {
      const once = async () => {
        const client = await pool.connect();
        try {
          await client.query(begin);
          const result = await fn(client);
          await client.query('COMMIT');
          return result;
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw e;
        } finally {
          client.release();
        }
      };
      return opts?.rerunnable ? rerunTransient(once, log) : once();
    },
    async close() {
      await pool.end();
      await onClose();
    },
  };
}

/**
 * How long PostgreSQL lets one of our transactions sit idle before it ends the session. Our
 * transactions only wait on their own statements, so this fires only when a process froze
 * mid-transaction (SIGSTOP, a paused VM, a long GC): its locks (a claim's rows, a campaign's
 * cap turn) are released and the other schedulers go on, instead of waiting for as long as
 * it stays frozen. Its transaction rolls back: a claim's messages were not sent; a record's
 * were, and stay `sending` until their lease runs out and reconciliation finds them.
 * Set per transaction (SET LOCAL in the BEGIN): it holds behind PgBouncer in any pooling mode.
 */
export const IDLE_IN_TRANSACTION_MS = 30_000;

export async function openPostgres(url: string, log: Logger = silentLogger, max = 10, idleInTransactionMs = IDLE_IN_TRANSACTION_MS): Promise<Database> {
  const pool = newPool({ connectionString: url, max, connectionTimeoutMillis: 10_000 }, log);
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new AppError(
      'db_unreachable',
      `Cannot connect to DATABASE_URL (${redact(url)}): ${coerceError(e).message}. Check that PostgreSQL is running, or unset DATABASE_URL to use the embedded database.`,
      { cause: e },
    );
  }
  return wrap('postgres', pool, log, async () => undefined, `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${Math.round(idleInTransactionMs)}`);
}

/**
 * Embedded PGlite; `dataDir` undefined = in memory (tests). `loadDataDir` starts from a
 * dump (tests clone a migrated template this way: ~1 s instead of a ~4 s initdb).
 */
export async function openPglite(
  dataDir: string | undefined,
  log: Logger = silentLogger,
  opts: { loadDataDir?: Blob } = {},
): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  let db;
  try {
    db = await PGlite.create({ ...(dataDir ? { dataDir } : {}), ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}) });
  } catch (e) {
    throw new AppError(
      'db_open_failed',
      `Cannot open the embedded database in ${dataDir}: ${coerceError(e).message}. Is another smsops process using it? Stop it, or set SMSOPS_DATA_DIR to another folder.`,
      { cause: e },
    );
  }
  const server = await servePglite(db);
  const pool = newPool({ host: server.host, port: server.port, user: 'postgres', database: 'postgres', max: 1 }, log);
  const database = wrap('pglite', pool, log, async () => {
    await server.close();
    await db.close();
  });
  return { ...database, dumpDataDir: async () => (await db.dumpDataDir('none')) as Blob };
}

export async function openDatabase(config: Config, log: Logger = silentLogger): Promise<Database> {
  return config.database.kind === 'postgres'
    ? openPostgres(config.database.url, log)
    : openPglite(config.database.dataDir, log);
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
