/** A small leveled logger: one line per event, `key=value` context, errors with their cause. */
export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(msg: string, ctx?: Record<string, unknown>): void;
  info(msg: string, ctx?: Record<string, unknown>): void;
  warn(msg: string, ctx?: Record<string, unknown>): void;
  error(msg: string, ctx?: Record<string, unknown>): void;
  child(ctx: Record<string, unknown>): Logger;
}

function fmt(ctx: Record<string, unknown>): string {
  return Object.entries(ctx)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      if (v instanceof Error) {
        const cause = v.cause instanceof Error ? ` (cause: ${v.cause.message})` : '';
        return `${k}=${JSON.stringify(v.message + cause)}`;
      }
      return `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v)}`;
    })
    .join(' ');
}

export function createLogger(level: Level = 'info', base: Record<string, unknown> = {}, sink = process.stderr): Logger {
  const emit = (lvl: Exclude<Level, 'silent'>, msg: string, ctx: Record<string, unknown> = {}) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const rest = fmt({ ...base, ...ctx });
    sink.write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}${rest ? ' ' + rest : ''}\n`);
  };
  return {
    debug: (m, c) => emit('debug', m, c),
    info: (m, c) => emit('info', m, c),
    warn: (m, c) => emit('warn', m, c),
    error: (m, c) => emit('error', m, c),
    child: (c) => createLogger(level, { ...base, ...c }, sink),
  };
}

export const silentLogger: Logger = createLogger('silent');
