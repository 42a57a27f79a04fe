/**
 * Progress of long CLI work as one self-overwriting stderr line: redrawn at most 4 times a
 * second, and cleared when the work ends so the summary starts on a clean line. Only on a terminal and without --json: piped output stays clean.
 */
export interface ProgressLine {
  show(text: string): void;
  clear(): void;
}

const REDRAW_MS = 250;

export function progressLine(enabled: boolean): ProgressLine | undefined {
  if (!enabled) return undefined;
  let last = 0;
  let shown = false;
  return {
    show(text) {
      const t = Date.now();
      if (t - last < REDRAW_MS) return;
      last = t;
      shown = true;
      process.stderr.write(`\r\x1b[K${text}`);
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

/** `[#####-----] 12/40`: a bar of done out of total. */
export function bar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / Math.max(total, 1)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}
