/**
 * FILE.rejects.csv: every refused row with its original cells, plus the line it came
 * from and why. The two extra columns are ignored by the import, so the file can be
 * fixed in a spreadsheet and imported as it is.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { stringify, type Stringifier } from 'csv-stringify';
import { REJECT_LINE_HEADER, REJECT_REASON_HEADER } from './columns.ts';

export interface RejectsFile {
  /** Appends one row; waits when the disk is slower than the import. */
  write(record: readonly string[], line: number, reason: string): Promise<void>;
  /** Flushes and closes; resolves to the path when anything was written, else null. */
  close(): Promise<string | null>;
}

/** A rejects file that is only created by its first row. A stale one from an earlier run is removed. */
export async function openRejectsFile(path: string, headers: readonly string[], format: { delimiter: string; bom: boolean }): Promise<RejectsFile> {
  await rm(path, { force: true });
  let out: { csv: Stringifier; file: WriteStream } | null = null;
  return {
    async write(record, line, reason) {
      if (!out) {
        const csv = stringify({ delimiter: format.delimiter, bom: format.bom });
        const file = createWriteStream(path);
        csv.pipe(file);
        csv.write([...headers, REJECT_LINE_HEADER, REJECT_REASON_HEADER]);
        out = { csv, file };
      }
      // Cells beyond the header (a row with too many fields) are kept after the reason.
      const row = [...headers.map((_, i) => record[i] ?? ''), String(line), reason, ...record.slice(headers.length)];
      if (!out.csv.write(row)) {
        await once(out.csv, 'drain');
      }
    },
    async close() {
      if (!out) return null;
      out.csv.end();
      await once(out.file, 'finish');
      return path;
    },
  };
}
