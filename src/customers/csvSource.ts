/**
 * Streaming CSV input for the import: sniffs the delimiter from the header line, reads
 * through a line-break normaliser (CRLF and lone CR become LF, so line numbers are right
 * whatever the file's origin) into csv-parse, with backpressure end to end.
 */
import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { pipeline, Transform } from 'node:stream';
import { parse, type Parser } from 'csv-parse';

export type Delimiter = ',' | ';' | '\t';
const DELIMITERS: Delimiter[] = [',', ';', '\t'];
const HEAD_BYTES = 64 * 1024;
/** A record larger than this is refused (a quote that is never closed would otherwise swallow the file). */
export const MAX_RECORD_BYTES = 1_000_000;
/** How much of a refused record's text is kept for the rejects file. */
const MAX_RAW_BYTES = 64 * 1024;

export interface FileHead {
  /** Nothing but whitespace (or a BOM) in the file. */
  empty: boolean;
  bom: boolean;
  delimiter: Delimiter;
}

/** Reads the start of the file: BOM, emptiness, and the delimiter most used in the header line. */
export async function sniffFile(path: string): Promise<FileHead> {
  const fh = await open(path, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    text = buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
  const bom = text.startsWith('\uFEFF');
  if (bom) text = text.slice(1);
  return { empty: text.trim() === '', bom, delimiter: detectDelimiter(text) };
}

/** The delimiter that occurs most often outside quotes in the first line; ',' when none does. */
export function detectDelimiter(text: string): Delimiter {
  const counts = new Map<string, number>();
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best: Delimiter = ',';
  for (const d of DELIMITERS) if ((counts.get(d) ?? 0) > (counts.get(best) ?? 0)) best = d;
  return best;
}

/** CRLF and lone CR -> LF, byte-wise (both are single bytes in UTF-8), across chunk boundaries. */
function lineBreaksToLf(onBytes: (n: number) => void): Transform {
  let skipLf = false; // the previous chunk ended in CR: a leading LF belongs to it
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length);
      let start = 0;
      if (skipLf && chunk[0] === 10) start = 1;
      skipLf = false;
      if (chunk.indexOf(13, start) === -1) return done(null, start ? chunk.subarray(start) : chunk);
      const out = Buffer.allocUnsafe(chunk.length - start);
      let j = 0;
      for (let i = start; i < chunk.length; i++) {
        const b = chunk[i]!;
        if (b !== 13) {
          out[j++] = b;
          continue;
        }
        out[j++] = 10;
        if (i + 1 < chunk.length) {
          if (chunk[i + 1] === 10) i++;
        } else {
          skipLf = true;
        }
      }
      done(null, out.subarray(0, j));
    },
  });
}

const LF = 10;
const QUOTE = 34;

/**
 * Refuses records over `maxBytes` before the CSV parser sees them: reports the record once
 * (with the line it starts on), drops it, and hands on the records after it intact. It finds
 * record ends the way the parser does (a quote opens a quoted field only at the start of a
 * field; "" inside one is a quote; line breaks inside one belong to the field) and holds at
 * most one record's bytes. A dropped record leaves its line breaks behind, as empty lines the
 * parser skips, so line numbers after it stay right. (csv-parse's own max_record_size loses
 * the record that follows the one it refuses.)
 */
export function recordSizeGuard(delimiter: Delimiter, maxBytes: number, onSkip: (s: CsvSkip) => void): Transform {
  const delim = delimiter.charCodeAt(0);
  let inQuotes = false;
  let quoteSeen = false; // inside quotes, the previous byte was a quote: escaped ("") or closing
  let atFieldStart = true;
  let line = 1;
  let recordLine = 1;
  let recordBytes = 0;
  let held: Buffer[] = []; // the current record's bytes from earlier chunks
  let dropping = false;
  const breaks = (n: number) => Buffer.alloc(n, LF);
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const out: Buffer[] = [];
      let recordStart = 0; // where the current record begins in this chunk
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i]!;
        recordBytes++;
        if (inQuotes) {
          if (quoteSeen) {
            quoteSeen = false;
            if (b === QUOTE) continue;
            inQuotes = false; // the quote before closed the field: `b` is outside quotes
          } else {
            if (b === QUOTE) quoteSeen = true;
            else if (b === LF) line++;
            if (!dropping && recordBytes > maxBytes) startDropping(i);
            continue;
          }
        }
        if (b === QUOTE && atFieldStart) {
          inQuotes = true;
          atFieldStart = false;
        } else if (b === LF) {
          line++;
          if (dropping) out.push(breaks(line - recordLine));
          else out.push(...held, chunk.subarray(recordStart, i + 1));
          held = [];
          dropping = false;
          recordStart = i + 1;
          recordLine = line;
          recordBytes = 0;
          atFieldStart = true;
        } else {
          atFieldStart = b === delim;
        }
        if (!dropping && recordBytes > maxBytes) startDropping(i);
      }
      if (!dropping && recordStart < chunk.length) held.push(chunk.subarray(recordStart));
      done(null, out.length ? Buffer.concat(out) : undefined);

      function startDropping(i: number): void {
        const raw = Buffer.concat([...held, chunk.subarray(recordStart, i + 1)]).subarray(0, MAX_RAW_BYTES).toString('utf8');
        dropping = true;
        held = [];
        recordStart = i + 1;
        onSkip({ line: recordLine, raw, reason: `malformed CSV: the record is longer than ${maxBytes.toLocaleString('en-US')} bytes (is a quote never closed?)` });
      }
    },
    flush(done) {
      // The last record, without a final line break (or the rest of a dropped one).
      done(null, dropping ? breaks(line - recordLine) : held.length ? Buffer.concat(held) : undefined);
    },
  });
}

export interface CsvRecord {
  record: string[];
  /** 1-based line where the record starts. */
  line: number;
}

export interface CsvSkip {
  line: number;
  reason: string;
  /** The start of the refused record's text (at most MAX_RAW_BYTES), when known. */
  raw?: string;
}

/**
 * Records of the file, header included, in order. Malformed records (a quote never
 * closed, a record over MAX_RECORD_BYTES) are passed to `onSkip` and parsing goes on;
 * records whose cells are all empty are skipped silently.
 */
export function readCsv(
  path: string,
  head: FileHead,
  hooks: { onBytes: (n: number) => void; onSkip: (s: CsvSkip) => void },
): AsyncIterable<CsvRecord> {
  let lastEnd = 0; // the line the last record parsed ended on
  const parser: Parser = parse({
    delimiter: head.delimiter,
    bom: true,
    info: true,
    raw: true, // so a refused record's text can go to the rejects file
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_empty_values: true,
    skip_records_with_error: true,
    // A backstop only: recordSizeGuard refuses big records first (and keeps the next one).
    max_record_size: 2 * MAX_RECORD_BYTES,
    on_record: (record: string[], context: { lines: number }) => {
      lastEnd = context.lines;
      return record;
    },
  });
  parser.on('skip', (err: Error & { lines?: number; raw?: string }) => {
    const raw = err.raw?.slice(0, MAX_RAW_BYTES);
    const leading = raw ? raw.length - raw.replace(/^\n+/, '').length : 0;
    const line = lastEnd > 0 || raw !== undefined ? lastEnd + 1 + leading : (err.lines ?? 0);
    hooks.onSkip({ line, reason: `malformed CSV: ${err.message}`, ...(raw?.trim() ? { raw: raw.replace(/^\n+/, '') } : {}) });
  });
  const stream = pipeline(createReadStream(path), lineBreaksToLf(hooks.onBytes), recordSizeGuard(head.delimiter, MAX_RECORD_BYTES, hooks.onSkip), parser, () => undefined);
  return (async function* () {
    for await (const { record, info } of stream as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      // info.lines is where the record ends; quoted line breaks inside it move the start back.
      let breaks = 0;
      for (const field of record) for (let i = field.indexOf('\n'); i !== -1; i = field.indexOf('\n', i + 1)) breaks++;
      yield { record, line: info.lines - breaks };
    }
  })();
}
