/**
 * `smsops import customers FILE.csv`: streams a customer file into `customers`.
 *
 * Rules the import keeps:
 * - The phone number (E.164) is the customer's key; rows are upserted by it in batches.
 * - A refused row is listed with its line and reason and copied to FILE.rejects.csv;
 *   the good rows are kept.
 * - A phone that appears again later in the file folds into the earlier row (stated
 *   values of the later row win) and is counted as a duplicate.
 * - Empty cells never erase stored values.
 * - Consent changes only when the file states it (yes/no, opted_in/denied, ...); an empty
 *   or "unknown" cell keeps what is stored. A stated "no" withdraws consent, and each
 *   change is counted in the summary and written to the audit log.
 * - Opt-outs (contact_status) are never touched: an opted-out number stays opted out.
 */
import { stat } from 'node:fs/promises';
import { parse as parseCsvText } from 'csv-parse/sync';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { writeAudit, type Surface } from '../db/queries/audit.ts';
import { maskPhone } from '../domain/phone.ts';
import { AppError, coerceError } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { describeColumns, detectColumns, type ColumnMap } from './columns.ts';
import { readCsv, sniffFile, type CsvSkip, type Delimiter } from './csvSource.ts';
import { createRowParser, mergeRows, type CustomerRow } from './parseRow.ts';
import { upsertCustomerBatch } from './queries.ts';
import { openRejectsFile, type RejectsFile } from './rejectsFile.ts';
import { sanitizeText } from './text.ts';

/** What the import needs; an AppContext fits. */
export interface ImportDeps {
  db: Database;
  config: Pick<Config, 'phoneRegion'>;
  clock: Clock;
  log?: Logger;
}

export interface ImportProgress {
  rows: number;
  bytes: number;
  totalBytes: number;
  elapsedMs: number;
}

export interface ImportOptions {
  /** Rows per upsert statement (default 1000). */
  batchSize?: number;
  /** Where refused rows go; default FILE.rejects.csv next to the file; null = nowhere. */
  rejectsPath?: string | null;
  /** Recorded in the audit log (default 'cli'). */
  actor?: string;
  surface?: Surface;
  /** Called after every batch. */
  onProgress?: (p: ImportProgress) => void;
}

/** How many detailed rejects/duplicates the summary lists (the rejects file has all of them). */
export const SUMMARY_SAMPLE = 50;

export interface ImportSummary {
  file: string;
  delimiter: Delimiter;
  /** Each header and what it filled: a customers column, 'attributes', or 'ignored'. */
  columns: { header: string; field: string }[];
  /** Data rows read (header and all-empty rows not counted). */
  rows: number;
  imported: number;
  updated: number;
  unchanged: number;
  rejected: number;
  duplicates: number;
  /** Consent of existing customers changed by the file's explicit values. */
  consent: { granted: number; withdrawn: number };
  /** Imported numbers that are opted out (STOP) and stay so. */
  optedOut: number;
  rejectsFile: string | null;
  rejects: { line: number; reason: string }[];
  duplicateRows: { line: number; phone: string }[];
  durationMs: number;
  rowsPerSecond: number;
}

/** One row of the file that went into a pending entry. */
interface Source {
  row: CustomerRow;
  record: string[];
  line: number;
  /** Counted as a duplicate when it was read. */
  duplicate: boolean;
}

interface Pending {
  row: CustomerRow;
  /** The line of the last row folded in (recorded with consent changes). */
  line: number;
  /** Every row of the file folded into this entry, in file order. */
  sources: Source[];
  /** The phone was already written by an earlier batch of this file. */
  repeat: boolean;
}

/** FILE.csv -> FILE.rejects.csv */
export function defaultRejectsPath(file: string): string {
  return /\.csv$/i.test(file) ? file.replace(/\.csv$/i, '.rejects.csv') : `${file}.rejects.csv`;
}

/**
 * Imports a customer CSV file. Throws an AppError (nothing written) when the file is
 * missing, empty, or has no phone column; otherwise returns the summary.
 */
export async function importCustomers(deps: ImportDeps, filePath: string, opts: ImportOptions = {}): Promise<ImportSummary> {
  const log = deps.log ?? silentLogger;
  const batchSize = opts.batchSize ?? 1000;
  const fileName = basename(filePath);
  const totalBytes = await fileSize(filePath);
  const head = await sniffFile(filePath);
  if (head.empty) {
    throw new AppError(
      'import_empty_file',
      `${fileName} is empty. Expected a header line and one customer per line, e.g.\nname,phone,last_visit\nAna Ruiz,(415) 555-0132,2025-03-07`,
    );
  }
  const started = performance.now();
  const now = deps.clock.now();
  const latestDate = new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10);

  const summary: ImportSummary = {
    file: filePath,
    delimiter: head.delimiter,
    columns: [],
    rows: 0,
    imported: 0,
    updated: 0,
    unchanged: 0,
    rejected: 0,
    duplicates: 0,
    consent: { granted: 0, withdrawn: 0 },
    optedOut: 0,
    rejectsFile: null,
    rejects: [],
    duplicateRows: [],
    durationMs: 0,
    rowsPerSecond: 0,
  };

  let bytes = 0;
  const skipped: CsvSkip[] = [];
  const records = readCsv(filePath, head, { onBytes: (n) => (bytes += n), onSkip: (s) => skipped.push(s) });

  let columns: ColumnMap | null = null;
  let parseRow: ReturnType<typeof createRowParser> | null = null;
  let rejects: RejectsFile | null = null;
  const seen = new Set<number>(); // phones of this file so far, as numbers (E.164 digits fit in 2^53)
  let pending = new Map<string, Pending>();
  let inflight: Promise<void> = Promise.resolve();

  const reject = async (record: readonly string[], line: number, reason: string) => {
    summary.rejected++;
    if (summary.rejects.length < SUMMARY_SAMPLE) summary.rejects.push({ line, reason });
    await rejects?.write(record, line, reason);
  };

  /** A record the CSV reader refused: its text goes to the rejects file, as cells where it can be read. */
  const rejectSkip = async (s: CsvSkip) => {
    const rows = s.raw === undefined ? [{ cells: [] as string[], offset: 0 }] : rawToRows(s.raw, head.delimiter);
    for (const { cells, offset } of rows) {
      summary.rows++;
      await reject(cells, s.line + offset, s.reason);
    }
  };

  /** A row counted as a duplicate that is not one after all (refused, or now standing for its entry). */
  const uncountDuplicate = (src: Source) => {
    src.duplicate = false;
    summary.duplicates--;
    const i = summary.duplicateRows.findIndex((d) => d.line === src.line);
    if (i !== -1) summary.duplicateRows.splice(i, 1);
  };

  /**
   * Refuses the rows of an entry that carry the external id another customer holds; the
   * other rows folded into it are written again without them.
   */
  const refuseExternalId = async (entry: Pending, owner: string): Promise<Pending | null> => {
    const id = entry.row.externalId;
    const reason = `external id: "${id}" already belongs to the customer with phone ${maskPhone(owner)}`;
    const refused = entry.sources.filter((src) => src.row.externalId === id);
    const kept = entry.sources.filter((src) => src.row.externalId !== id);
    for (const src of refused) {
      if (src.duplicate) uncountDuplicate(src);
      await reject(src.record, src.line, reason);
    }
    if (kept.length === 0 || refused.length === 0) return null;
    // The row that stood for the entry was refused: the first one kept takes its place.
    if (!entry.repeat && kept[0]!.duplicate) uncountDuplicate(kept[0]!);
    return { row: kept.map((k) => k.row).reduce((a, b) => mergeRows(a, b)), line: kept[kept.length - 1]!.line, sources: kept, repeat: entry.repeat };
  };

  const flush = async (batch: Pending[]) => {
    let next: Pending[] = batch;
    while (next.length) next = await write(next);
    opts.onProgress?.({ rows: summary.rows, bytes, totalBytes, elapsedMs: performance.now() - started });
  };

  /** Writes one batch; returns the entries to write again without their refused rows. */
  const write = async (batch: Pending[]): Promise<Pending[]> => {
    const { accepted, conflicts } = withDistinctExternalIds(batch);
    const result = await upsertCustomerBatch(deps.db.pool, accepted, {
      now,
      consentSource: `import:${fileName}`,
      actor: opts.actor ?? 'cli',
      surface: opts.surface ?? 'cli',
    }).catch((e: unknown) => {
      const lines = batch.flatMap((b) => b.sources.map((src) => src.line));
      throw new AppError(
        'import_batch_failed',
        `Writing the rows of lines ${Math.min(...lines)}-${Math.max(...lines)} failed: ${coerceError(e).message}. Rows before them are imported; fix the problem and import the file again (re-importing is safe).`,
        { cause: e },
      );
    });
    for (const e of accepted) {
      const owner = result.conflicts.get(e.row.phone);
      if (owner) conflicts.push({ entry: e, owner });
      else if (e.repeat) continue; // counted as a duplicate when it was read
      else if (result.inserted.has(e.row.phone)) summary.imported++;
      else if (result.updated.has(e.row.phone)) summary.updated++;
      else summary.unchanged++;
      if (!e.repeat && result.optedOut.has(e.row.phone)) summary.optedOut++;
    }
    for (const after of result.consentChanged.values()) {
      if (after === 'opted_in') summary.consent.granted++;
      else summary.consent.withdrawn++;
    }
    const retry: Pending[] = [];
    for (const { entry, owner } of conflicts) {
      const again = await refuseExternalId(entry, owner);
      if (again) retry.push(again);
    }
    return retry;
  };

  /** Hands the pending rows to the writer; the next batch is parsed while this one is written. */
  const dispatch = async () => {
    if (pending.size === 0) return;
    const batch = [...pending.values()];
    pending = new Map();
    await inflight;
    inflight = flush(batch);
    inflight.catch(() => undefined); // surfaced by the next await
  };

  try {
    for await (const { record, line } of records) {
      while (skipped.length) await rejectSkip(skipped.shift()!);
      if (!columns) {
        columns = detectColumns(record);
        summary.columns = describeColumns(columns);
        if (columns.fields.phone === undefined) throw noPhoneColumn(fileName, record);
        parseRow = createRowParser(columns, { phoneRegion: deps.config.phoneRegion, latestDate });
        if (opts.rejectsPath !== null) {
          rejects = await openRejectsFile(opts.rejectsPath ?? defaultRejectsPath(filePath), record, head);
        }
        continue;
      }
      summary.rows++;
      const parsed = parseRow!(record);
      if (!parsed.ok) {
        await reject(record, line, parsed.reason);
        continue;
      }
      const { row } = parsed;
      const key = Number(row.phone.slice(1));
      const earlier = pending.get(row.phone);
      const duplicate = seen.has(key);
      if (duplicate) {
        summary.duplicates++;
        if (summary.duplicateRows.length < SUMMARY_SAMPLE) summary.duplicateRows.push({ line, phone: maskPhone(row.phone) });
      }
      if (earlier) {
        pending.set(row.phone, { ...earlier, row: mergeRows(earlier.row, row), line, sources: [...earlier.sources, { row, record, line, duplicate }] });
      } else {
        pending.set(row.phone, { row, line, sources: [{ row, record, line, duplicate }], repeat: duplicate });
        seen.add(key);
      }
      if (pending.size >= batchSize) await dispatch();
    }
    for (const s of skipped.splice(0)) await rejectSkip(s);
    if (!columns) throw new AppError('import_empty_file', `${fileName} has no header line.`);
    await dispatch();
    await inflight;
  } finally {
    await inflight.catch(() => undefined);
    summary.rejectsFile = (await rejects?.close()) ?? null;
  }

  summary.durationMs = Math.round(performance.now() - started);
  summary.rowsPerSecond = summary.durationMs > 0 ? Math.round((summary.rows * 1000) / summary.durationMs) : summary.rows;
  await writeAudit(deps.db.pool, {
    actor: opts.actor ?? 'cli',
    surface: opts.surface ?? 'cli',
    action: 'customers.imported',
    entityType: 'import',
    entityId: fileName,
    after: {
      rows: summary.rows,
      imported: summary.imported,
      updated: summary.updated,
      unchanged: summary.unchanged,
      rejected: summary.rejected,
      duplicates: summary.duplicates,
      consent: summary.consent,
    },
  });
  log.info('customers imported', { file: fileName, rows: summary.rows, imported: summary.imported, updated: summary.updated, rejected: summary.rejected });
  return summary;
}

/**
 * external_id is unique: within a batch, the first phone holding an id keeps it and later
 * rows with the same id and another phone are refused (the database checks the stored ones).
 */
function withDistinctExternalIds(batch: Pending[]): { accepted: Pending[]; conflicts: { entry: Pending; owner: string }[] } {
  const owners = new Map<string, string>();
  const accepted: Pending[] = [];
  const conflicts: { entry: Pending; owner: string }[] = [];
  for (const e of batch) {
    const id = e.row.externalId;
    const owner = id === null ? undefined : owners.get(id);
    if (owner !== undefined && owner !== e.row.phone) {
      conflicts.push({ entry: e, owner });
      continue;
    }
    if (id !== null) owners.set(id, e.row.phone);
    accepted.push(e);
  }
  return { accepted, conflicts };
}

/**
 * The text of a record the CSV reader refused, as rows of cells for the rejects file: the
 * record itself when it reads as one, else each of its lines (a quote never closed swallows
 * the lines after it; each goes back out as its own row, quotes taken literally where needed).
 */
function rawToRows(raw: string, delimiter: string): { cells: string[]; offset: number }[] {
  const read = (text: string): string[][] | null => {
    try {
      return parseCsvText(text, { delimiter, relax_quotes: true, relax_column_count: true }) as string[][];
    } catch {
      return null;
    }
  };
  const whole = read(raw);
  if (whole?.length === 1) return [{ cells: whole[0]!, offset: 0 }];
  const rows: { cells: string[]; offset: number }[] = [];
  raw.split('\n').forEach((text, offset) => {
    if (text.trim() === '') return;
    const one = read(text);
    rows.push({ cells: one?.length === 1 ? one[0]! : text.split(delimiter), offset });
  });
  return rows.length ? rows : [{ cells: [raw], offset: 0 }];
}

function noPhoneColumn(fileName: string, headers: string[]): AppError {
  const seen = headers.map((h) => `"${sanitizeText(h)}"`).join(', ') || '(none)';
  return new AppError(
    'import_no_phone_column',
    `${fileName} has no phone column, so nothing was imported. Headers found: ${seen}. Name the column with the mobile numbers "phone" (or mobile, cell, phone number).`,
  );
}

async function fileSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new AppError('import_not_a_file', `${path} is not a file. Give the path of a .csv file.`);
    return s.size;
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('import_file_not_found', `Cannot read ${path}: ${coerceError(e).message}. Check the path.`, { cause: e });
  }
}
