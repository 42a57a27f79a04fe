/**
 * Customer import throughput and memory: a generated 100,000-row CSV imported into embedded
 * PGlite and into PostgreSQL (TEST_DATABASE_URL, else postgres://postgres:postgres@127.0.0.1:5432/postgres,
 * in a scratch database created and dropped here). Each engine runs in its own child process
 * so its peak RSS and CPU time (process.cpuUsage, steadier than wall time on a shared machine)
 * are its own. Targets on PostgreSQL: >= 20,000 rows/s, peak RSS < 300 MB.
 *
 *   npx tsx bench/import.ts [rows]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { systemClock } from '../src/clock.ts';
import { importCustomers } from '../src/customers/importCustomers.ts';
import { openPglite, openPostgres, type Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { writeSyntheticCustomers } from '../test/customers/syntheticCsv.ts';

interface Measurement {
  engine: string;
  rows: number;
  imported: number;
  seconds: number;
  rowsPerSecond: number;
  /** CPU time (user + system) of this process per row: on a shared machine it moves less than wall time. */
  cpuUsPerRow: number;
  peakRssMb: number;
}

/** Child mode: import `file` into a fresh database of `engine`, print one JSON line. */
async function child(engine: string, file: string, url: string | undefined): Promise<void> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const db: Database = engine === 'postgres' ? await openPostgres(url!) : await openPglite(undefined);
  try {
    await migrate(db);
    const cpu0 = process.cpuUsage();
    const s = await importCustomers({ db, config: { phoneRegion: 'US' }, clock: systemClock }, file, { rejectsPath: null });
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const m: Measurement = {
      engine,
      rows: s.rows,
      imported: s.imported,
      seconds: s.durationMs / 1000,
      rowsPerSecond: s.rowsPerSecond,
      cpuUsPerRow: Math.round((cpu.user + cpu.system) / s.rows),
      peakRssMb: Math.round(peak / 1e6),
    };
    process.stdout.write(JSON.stringify(m) + '\n');
  } finally {
    await db.close();
  }
}

async function withScratchDatabase<T>(adminUrl: string, fn: (url: string) => T): Promise<T | null> {
  const name = `smsops_bench_import_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', (e) => process.stderr.write(`PostgreSQL connection lost: ${e.message}\n`));
  try {
    await admin.connect();
  } catch (e) {
    process.stderr.write(`PostgreSQL at ${adminUrl.replace(/:[^:@/]*@/, ':***@')} is not reachable (${(e as Error).message}); skipping it.\n`);
    return null;
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(adminUrl);
    u.pathname = '/' + name;
    return fn(u.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

function runChild(engine: string, file: string, url?: string): Measurement {
  const out = execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), '--child', engine, file, ...(url ? [url] : [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Measurement;
}

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'smsops-bench-import-'));
  try {
    const file = join(dir, 'customers.csv');
    await writeSyntheticCustomers(file, rows);
    const results: Measurement[] = [runChild('pglite', file)];
    const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
    const pgResult = await withScratchDatabase(adminUrl, (url) => runChild('postgres', file, url));
    if (pgResult) results.push(pgResult);

    const header = ['engine', 'rows', 'imported', 'seconds', 'rows/s', 'CPU µs/row', 'peak RSS MB'];
    const table = results.map((r) => [
      r.engine,
      String(r.rows),
      String(r.imported),
      r.seconds.toFixed(2),
      String(r.rowsPerSecond),
      String(r.cpuUsPerRow),
      String(r.peakRssMb),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    process.stdout.write(`customer import, ${rows.toLocaleString('en-US')} rows\n${line(header)}\n${table.map(line).join('\n')}\n`);
    if (pgResult) {
      const okRate = pgResult.rowsPerSecond >= 20_000;
      const okRss = pgResult.peakRssMb < 300;
      process.stdout.write(
        `PostgreSQL targets: >= 20000 rows/s ${okRate ? 'met' : 'MISSED'}, peak RSS < 300 MB ${okRss ? 'met' : 'MISSED'}\n`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!, process.argv[5]);
else await main();
