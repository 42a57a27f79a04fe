/** Writes a large synthetic customer CSV, streaming (for the large-file test and bench/import.ts). */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const AREAS = ['415', '212', '305', '813', '405', '918', '646', '206', '312', '512', '617', '702', '404', '303', '615', '919', '503', '602', '704', '801'];
const CATEGORIES = ['espresso', 'pastries', 'cold brew', 'haircut', 'color', 'blowout', 'tea', 'beans'];
const ZONES = ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'];

/** The phone of row `i` (distinct for i < 20 * 7,000,000), in one of three spellings. */
export function syntheticPhone(i: number): string {
  const area = AREAS[i % AREAS.length]!;
  const rest = String(2_000_000 + Math.floor(i / AREAS.length)).padStart(7, '0');
  const [ex, line] = [rest.slice(0, 3), rest.slice(3)];
  return i % 3 === 0 ? `(${area}) ${ex}-${line}` : i % 3 === 1 ? `${area}.${ex}.${line}` : `+1 ${area} ${ex} ${line}`;
}

export async function writeSyntheticCustomers(path: string, rows: number, today = new Date('2026-01-15T12:00:00Z')): Promise<void> {
  const out = createWriteStream(path);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('customer_id,first_name,last_name,mobile,email,last_visit,customer_since,visits,total_spend,favorite_category,time_zone,consent,loyalty_tier\n');
  for (let i = 0; i < rows; i++) {
    const day = (n: number) => new Date(today.getTime() - n * 86_400_000).toISOString().slice(0, 10);
    const last = day(i % 200);
    const since = day(200 + (i % 900));
    await write(
      `C${i},Customer,"Number ${i}",${syntheticPhone(i)},c${i}@example.com,${last},${since},${1 + (i % 40)},"$${(i % 5000) + 0.5}",${CATEGORIES[i % CATEGORIES.length]},${ZONES[i % ZONES.length]},${i % 4 === 0 ? 'no' : 'yes'},${i % 10 === 0 ? 'gold' : ''}\n`,
    );
  }
  out.end();
  await once(out, 'finish');
}
