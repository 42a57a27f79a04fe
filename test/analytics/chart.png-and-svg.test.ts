import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityChartAlt, activityChartAttachment, activitySeries, renderActivityChartPng, renderActivityChartSvg, type ActivitySeries } from '../../src/analytics/chart.ts';
import { PNG_SIGNATURE, crc32 } from '../../src/analytics/png.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { MINUTE, seedInbound, seedMessage } from './seed.ts';

function series(overrides: Partial<ActivitySeries> = {}): ActivitySeries {
  const days = Array.from({ length: 14 }, (_, i) => ({
    day: `2026-11-${String(10 + i).padStart(2, '0')}`, sent: i * 17, replies: i % 5, optOuts: i === 3 ? 2 : 0,
  }));
  return { title: 'Spring <win-back> & more', timezone: 'America/Los_Angeles', days, totals: { sent: 1547, replies: 26, optOuts: 2 }, ...overrides };
}

/** Splits a PNG into chunks, checking every CRC. */
function readChunks(png: Buffer): { type: string; data: Buffer }[] {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  const chunks = [];
  let off = 8;
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.subarray(off + 4, off + 8).toString('latin1');
    const data = png.subarray(off + 8, off + 8 + len);
    expect(png.readUInt32BE(off + 8 + len), `CRC of ${type}`).toBe(crc32(png.subarray(off + 4, off + 8 + len)));
    chunks.push({ type, data });
    off += 12 + len;
  }
  expect(off).toBe(png.length);
  return chunks;
}

describe('activity chart rendering', () => {
  it('the PNG decodes: signature, IHDR, valid CRCs, IDAT inflating to height * (1 + 3 * width) bytes', () => {
    const png = renderActivityChartPng(series());
    const chunks = readChunks(png);
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const ihdr = chunks[0]!.data;
    const width = ihdr.readUInt32BE(0);
    const height = ihdr.readUInt32BE(4);
    expect([width, height]).toEqual([960, 472]);
    expect([...ihdr.subarray(8)]).toEqual([8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter method, no interlace
    const raw = inflateSync(chunks[1]!.data);
    expect(raw.length).toBe(height * (1 + 3 * width));
    // Every scanline uses filter 0, and the picture is not blank: the three series colours are in it.
    const colours = new Set<string>();
    for (let y = 0; y < height; y++) {
      expect(raw[y * (1 + 3 * width)]).toBe(0);
      for (let x = 0; x < width; x++) {
        const i = y * (1 + 3 * width) + 1 + 3 * x;
        colours.add(`${raw[i]},${raw[i + 1]},${raw[i + 2]}`);
      }
    }
    expect(colours).toContain('37,99,235');
    expect(colours).toContain('22,163,74');
    expect(colours).toContain('220,38,38');
    expect(colours).toContain('255,255,255');
  });

  it('CRC-32 matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('IEND'))).toBe(0xae426082);
  });

  it('the SVG has one bar per non-zero day and series, labels, escaped text and a title', () => {
    const s = series();
    const svg = renderActivityChartSvg(s);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const bars = (colour: string) => (svg.match(new RegExp(`<rect [^>]*fill="rgb\\(${colour}\\)"`, 'g')) ?? []).length;
    expect(bars('37,99,235')).toBe(s.days.filter((d) => d.sent > 0).length);
    expect(bars('22,163,74')).toBe(s.days.filter((d) => d.replies > 0).length);
    expect(bars('220,38,38')).toBe(1);
    const texts = [...svg.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts).toContain('Spring &lt;win-back&gt; &amp; more');
    expect(texts).toEqual(expect.arrayContaining(['Sent: 1547', 'Replies: 26', 'Opt-outs: 2', 'Nov', '10', '23']));
    expect(svg).toContain('<title>Spring &lt;win-back&gt; &amp; more: 1547 sent, 26 replies, 2 opt-outs</title>');
    expect(svg).not.toMatch(/NaN|undefined/);
  });

  it('an empty fortnight still renders (no bars, no NaN)', () => {
    const empty = series({ days: series().days.map((d) => ({ ...d, sent: 0, replies: 0, optOuts: 0 })), totals: { sent: 0, replies: 0, optOuts: 0 } });
    const svg = renderActivityChartSvg(empty);
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    expect(readChunks(renderActivityChartPng(empty)).length).toBe(3);
  });

  it('alt text names the totals; the attachment carries the PNG for ChatMessage.image', () => {
    expect(activityChartAlt(series())).toBe('Spring <win-back> & more: 1547 sent, 26 replies, 2 opt-outs (per day, America/Los_Angeles)');
    const image = activityChartAttachment(series());
    expect(image.filename).toBe('activity-2026-11-23.png');
    expect(image.alt).toBe(activityChartAlt(series()));
    expect(Buffer.from(image.base64, 'base64').equals(renderActivityChartPng(series()))).toBe(true);
  });
});

describe.each(engines)('activity series on %s', (engine) => {
  let db: Database;
  let camp: number;
  const NOW = new Date('2026-11-23T20:00:00Z'); // Monday 12:00 in Los Angeles
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    camp = await insertCampaign(db.pool, { name: 'chart-camp' });
    const other = await insertCampaign(db.pool, { name: 'chart-other' });
    // 07:30 UTC on the 20th is the evening of the 19th in Los Angeles.
    const evening19 = new Date('2026-11-20T07:30:00Z');
    await seedMessage(db.pool, { campaignId: camp, phone: '+14157001001', status: 'delivered', approvedAt: evening19, sentAt: evening19 });
    await seedMessage(db.pool, { campaignId: camp, phone: '+14157001002', status: 'sent', approvedAt: evening19, sentAt: new Date('2026-11-23T17:00:00Z') });
    await seedMessage(db.pool, { campaignId: camp, phone: '+14157001003', status: 'failed', approvedAt: evening19, providerId: null });
    await seedMessage(db.pool, { campaignId: other, phone: '+14157001004', status: 'delivered', approvedAt: evening19, sentAt: new Date('2026-11-21T18:00:00Z') });
    // Older than 14 days: outside the chart.
    await seedMessage(db.pool, { campaignId: other, phone: '+14157001005', status: 'delivered', approvedAt: evening19, sentAt: new Date('2026-11-01T18:00:00Z') });
    await seedInbound(db.pool, { phone: '+14157001001', at: new Date(evening19.getTime() + 20 * MINUTE) }); // 23:50 on the 19th in LA, camp
    await seedInbound(db.pool, { phone: '+14157001002', at: new Date('2026-11-23T18:00:00Z'), kind: 'stop' }); // 23rd, camp
    await seedInbound(db.pool, { phone: '+14157001004', at: new Date('2026-11-21T19:00:00Z') }); // 21st, other
    await seedInbound(db.pool, { phone: '+14157009999', at: new Date('2026-11-22T19:00:00Z') }); // 22nd, nobody's
  });
  afterAll(() => db?.close());

  it('all campaigns: 14 local days ending today, every send, reply and STOP on its local day', async () => {
    const s = await activitySeries(db.pool, { days: 14, now: NOW, timezone: 'America/Los_Angeles' });
    expect(s.days).toHaveLength(14);
    expect(s.days[0]!.day).toBe('2026-11-10');
    expect(s.days[13]!.day).toBe('2026-11-23');
    const nonZero = s.days.filter((d) => d.sent || d.replies || d.optOuts);
    expect(nonZero).toEqual([
      { day: '2026-11-19', sent: 1, replies: 1, optOuts: 0 },
      { day: '2026-11-21', sent: 1, replies: 1, optOuts: 0 },
      { day: '2026-11-22', sent: 0, replies: 1, optOuts: 0 },
      { day: '2026-11-23', sent: 1, replies: 0, optOuts: 1 },
    ]);
    expect(s.totals).toEqual({ sent: 3, replies: 3, optOuts: 1 });
    expect(s.title).toBe('All campaigns, last 14 days');
  });

  it('one campaign: its sends and the replies attributed to them; UTC days by default', async () => {
    const s = await activitySeries(db.pool, { days: 14, now: NOW, campaignId: camp });
    expect(s.timezone).toBe('UTC');
    expect(s.days.filter((d) => d.sent || d.replies || d.optOuts)).toEqual([
      { day: '2026-11-20', sent: 1, replies: 1, optOuts: 0 },
      { day: '2026-11-23', sent: 1, replies: 0, optOuts: 1 },
    ]);
    expect(s.title).toBe('chart-camp, last 14 days');
  });

  it('refuses a nonsensical number of days', async () => {
    await expect(activitySeries(db.pool, { days: 0, now: NOW })).rejects.toThrow(/days must be a whole number/);
  });
});
