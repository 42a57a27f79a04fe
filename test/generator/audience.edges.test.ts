/**
 * The audience at the edges, through the real `openai` client against the local peer: a
 * customer who opts out while the batch is drafted gets no suggestion, and a message back
 * for review in another campaign (approving it again sends it) holds a customer back by
 * the frequency cap.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { generateBatch, type GenerateInput } from '../../src/generator/index.ts';
import { PEER_API_KEY, startOpenAiPeer, type OpenAiPeer } from '../peers/openai.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertMessage } from '../support/fixtures.ts';
import { addCustomer, testContext, type CustomerSpec } from './helpers.ts';

const BRIEF = 'Win back lapsed regulars. offer: 10% off any drink; tone: friendly; brand: Bean There; signoff: -Sam';

describe.each(engines)('the audience at the edges on %s', (engine) => {
  let db: Database;
  let peer: OpenAiPeer;
  beforeAll(async () => {
    [db, peer] = await Promise.all([openTestDatabase(engine), startOpenAiPeer()]);
  });
  afterAll(async () => {
    await peer?.close();
    await db?.close();
  });
  beforeEach(() => peer.reset());

  const env = {
    OPENAI_API_KEY: PEER_API_KEY,
    OPENAI_CONCURRENCY: '1',
    OPENAI_MAX_RETRIES: '0',
    OPENAI_TIMEOUT_SECONDS: '10',
  };

  async function run(specs: CustomerSpec[], over: Partial<GenerateInput> = {}) {
    const tag = randomUUID();
    const added = [];
    for (const s of specs) added.push(await addCustomer(db.pool, { lastVisit: '2025-12-01', visits: 6, ...s, attributes: { tag } }));
    const input: GenerateInput = {
      campaign: `edges-${tag.slice(0, 8)}`,
      segment: JSON.stringify({ all: [{ field: 'attributes.tag', op: '=', value: tag }] }),
      brief: BRIEF,
      actor: 'dana',
      surface: 'cli',
      ...over,
    };
    return { added, input, go: () => generateBatch(testContext(db, { ...env, OPENAI_BASE_URL: peer.url }), input) };
  }

  it('a customer who opts out (STOP) while the batch is being written gets no suggestion', async () => {
    const { added, go } = await run([{ name: 'Stop Midway' }]);
    let stop: Promise<unknown> | undefined;
    peer.respond(() => {
      stop ??= db.pool.query(`INSERT INTO contact_status (phone, status, keyword, source) VALUES ($1, 'opted_out', 'STOP', 'sms')`, [added[0]!.phone]);
      return { delayMs: 300 };
    });
    const r = await go().catch((e: unknown) => e);
    await stop;
    const { rows } = await db.pool.query(`SELECT status FROM campaign_messages WHERE phone = $1 AND status IN ('suggested', 'approved')`, [added[0]!.phone]);
    expect({ result: (r as { suggestions?: number }).suggestions ?? 0, pending: rows }).toEqual({ result: 0, pending: [] });
  });

  it('a customer whose message in another campaign is in needs_review (may still go out) is held back by the frequency cap', async () => {
    const { added, input } = await run([{ name: 'Under Review' }]);
    const other = await insertCampaign(db.pool, { name: `edges-other-${randomUUID().slice(0, 8)}` });
    const id = await insertMessage(db.pool, { campaignId: other, status: 'approved', phone: added[0]!.phone });
    // e.g. its slot passed (planner/dispatcher) or the reconciler could not tell whether it went out.
    await db.pool.query(`UPDATE campaign_messages SET status = 'needs_review' WHERE id = $1`, [id]);
    const r = await generateBatch(testContext(db), { ...input, generator: 'templates', dryRun: true });
    expect(r).toMatchObject({ matched: 0, exclusions: { frequency_cap: 1 } });
  });
});
