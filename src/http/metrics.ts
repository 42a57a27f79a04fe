/** Counters served at GET /metrics in the Prometheus text format. */
const counters = new Map<string, number>();
const help = new Map<string, string>();

function key(name: string, labels?: Record<string, string>): string {
  if (!labels || Object.keys(labels).length === 0) return name;
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
    .join(',');
  return `${name}{${l}}`;
}

export function incCounter(name: string, labels?: Record<string, string>, by = 1, description?: string): void {
  const k = key(name, labels);
  counters.set(k, (counters.get(k) ?? 0) + by);
  if (description) help.set(name, description);
}

export function renderMetrics(): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  const header = (name: string, type: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    if (help.has(name)) lines.push(`# HELP ${name} ${help.get(name)}`);
    lines.push(`# TYPE ${name} ${type}`);
  };
  for (const [k, v] of [...counters].sort()) {
    header(k.split('{')[0]!, 'counter');
    lines.push(`${k} ${v}`);
  }
  return lines.join('\n') + '\n';
}
