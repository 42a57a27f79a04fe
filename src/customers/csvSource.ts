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
export const MAX_RECORD_CHARS = 1_000_000;

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

export interface CsvRecord {
  record: string[];
  /** 1-based line where the record starts. */
  line: number;
}

export interface CsvSkip {
  line: number;
  reason: string;
}

/**
 * Records of the file, header included, in order. Malformed records (a quote never
 * closed, a record over MAX_RECORD_CHARS) are passed to `onSkip` and parsing goes on;
 * records whose cells are all empty are skipped silently.
 */
export function readCsv(
  path: string,
  head: FileHead,
  hooks: { onBytes: (n: number) => void; onSkip: (s: CsvSkip) => void },
): AsyncIterable<CsvRecord> {
  const parser: Parser = parse({
    delimiter: head.delimiter,
    bom: true,
    info: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_empty_values: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_CHARS,
  });
  parser.on('skip', (err: Error & { lines?: number }) => hooks.onSkip({ line: err.lines ?? 0, reason: `malformed CSV: ${err.message}` }));
  const stream = pipeline(createReadStream(path), lineBreaksToLf(hooks.onBytes), parser, () => undefined);
  return (async function* () {
    for await (const { record, info } of stream as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      // info.lines is where the record ends; quoted line breaks inside it move the start back.
      let breaks = 0;
      for (const field of record) for (let i = field.indexOf('\n'); i !== -1; i = field.indexOf('\n', i + 1)) breaks++;
      yield { record, line: info.lines - breaks };
    }
  })();
}
