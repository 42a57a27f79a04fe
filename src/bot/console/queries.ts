/**
 * SQL of the local web console: its stored posts (console_posts, migration 0007), the
 * names and opt-out marks of the phone panel, and the "is this database empty" check
 * behind the demo offer. Times are passed in from the app clock, so a fast demo clock shows its own time.
 */
import type { Queryable } from '../../db/database.ts';

export type ConsolePostKind = 'batch' | 'card' | 'message';

/** A stored post as the browser receives it. `model` is a BatchHeaderModel, CardModel or ChatMessage. */
export interface ConsolePost {
  id: number;
  channel: string;
  threadId: number | null;
  kind: ConsolePostKind;
  model: unknown;
  createdAt: Date;
  updatedAt: Date;
  /** Posts in this post's thread (top-level posts only). */
  replyCount?: number;
}

interface PostRow {
  id: number;
  channel: string;
  thread_id: number | null;
  kind: ConsolePostKind;
  model: unknown;
  created_at: Date;
  updated_at: Date;
  reply_count?: number;
}

const COLUMNS = 'p.id, p.channel, p.thread_id, p.kind, p.model, p.created_at, p.updated_at';

function toPost(r: PostRow): ConsolePost {
  const post: ConsolePost = {
    id: Number(r.id),
    channel: r.channel,
    threadId: r.thread_id === null ? null : Number(r.thread_id),
    kind: r.kind,
    model: r.model,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.reply_count !== undefined) post.replyCount = Number(r.reply_count);
  return post;
}

export interface NewPost {
  channel: string;
  threadId: number | null;
  kind: ConsolePostKind;
  model: unknown;
  /** The same on every attempt of its delivery (see PostKey); null: none. */
  key: string | null;
}

/**
 * Stores posts (side effect: inserts), except those whose key an earlier attempt already
 * stored: those are returned as they are, with `created` false. In the order given.
 */
export async function insertPosts(q: Queryable, posts: NewPost[], at: Date): Promise<{ post: ConsolePost; created: boolean }[]> {
  if (posts.length === 0) return [];
  // The outer SELECT reads the table as it was before this statement: only keys stored earlier.
  const { rows } = await q.query<PostRow & { post_key: string | null; created: boolean }>(
    `WITH t AS (
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::jsonb[], $6::text[]) WITH ORDINALITY AS t(channel, thread_id, kind, model, post_key, n)
     ), stored AS (
       INSERT INTO console_posts AS p (channel, thread_id, kind, model, post_key, created_at, updated_at)
       SELECT channel, thread_id, kind, model, post_key, $5, $5 FROM t ORDER BY n
       ON CONFLICT (post_key) WHERE post_key IS NOT NULL DO NOTHING
       RETURNING ${COLUMNS}, p.post_key, true AS created
     )
     SELECT * FROM stored
     UNION ALL
     SELECT ${COLUMNS}, p.post_key, false FROM console_posts p JOIN t ON p.post_key = t.post_key`,
    [
      posts.map((p) => p.channel),
      posts.map((p) => p.threadId),
      posts.map((p) => p.kind),
      posts.map((p) => JSON.stringify(p.model)),
      at,
      posts.map((p) => p.key),
    ],
  );
  const byKey = new Map(rows.filter((r) => r.post_key !== null).map((r) => [r.post_key!, r]));
  // Ids are drawn in insertion order, which follows the ordinality.
  const unkeyed = rows.filter((r) => r.post_key === null).sort((a, b) => Number(a.id) - Number(b.id));
  return posts.map((p) => {
    const r = p.key === null ? unkeyed.shift() : byKey.get(p.key);
    // Another delivery of the same key committed while this one ran (the lease keeps that rare): tried again later.
    if (!r) throw new Error(`console post ${p.key} is being stored by another delivery`);
    return { post: toPost(r), created: r.created };
  });
}

/** Replaces a post's model in place (side effect: update). Undefined when no post of that kind has the id. */
export async function updatePostModel(
  q: Queryable,
  id: number,
  kind: ConsolePostKind,
  model: unknown,
  at: Date,
): Promise<ConsolePost | undefined> {
  const { rows } = await q.query<PostRow>(
    `UPDATE console_posts AS p SET model = $3, updated_at = $4 WHERE id = $1 AND kind = $2 RETURNING ${COLUMNS}`,
    [id, kind, JSON.stringify(model), at],
  );
  return rows[0] && toPost(rows[0]);
}

export async function getPost(q: Queryable, id: number): Promise<ConsolePost | undefined> {
  const { rows } = await q.query<PostRow>(
    `SELECT ${COLUMNS}, (SELECT count(*)::int FROM console_posts r WHERE r.thread_id = p.id) AS reply_count
     FROM console_posts p WHERE p.id = $1`,
    [id],
  );
  return rows[0] && toPost(rows[0]);
}

/** The newest `limit` top-level posts of a channel, oldest first, with their reply counts. */
export async function listChannelPosts(q: Queryable, channel: string, limit: number): Promise<ConsolePost[]> {
  const { rows } = await q.query<PostRow>(
    `SELECT * FROM (
       SELECT ${COLUMNS}, (SELECT count(*)::int FROM console_posts r WHERE r.thread_id = p.id) AS reply_count
       FROM console_posts p WHERE p.channel = $1 AND p.thread_id IS NULL
       ORDER BY p.id DESC LIMIT $2
     ) newest ORDER BY id`,
    [channel, limit],
  );
  return rows.map(toPost);
}

/** Every post in a thread (cards and messages), in the order they were posted. */
export async function listThreadPosts(q: Queryable, threadId: number): Promise<ConsolePost[]> {
  const { rows } = await q.query<PostRow>(`SELECT ${COLUMNS} FROM console_posts p WHERE p.thread_id = $1 ORDER BY p.id`, [
    threadId,
  ]);
  return rows.map(toPost);
}

/** True when there is nothing to look at yet: no customers and no campaigns (the demo offer). */
export async function isDatabaseEmpty(q: Queryable): Promise<boolean> {
  const { rows } = await q.query<{ empty: boolean }>(
    `SELECT NOT EXISTS (SELECT 1 FROM customers) AND NOT EXISTS (SELECT 1 FROM campaigns) AS empty`,
  );
  return rows[0]!.empty;
}

/** Customer names by phone (for the phone panel's headings). */
export async function customerNamesByPhone(q: Queryable, phones: string[]): Promise<Map<string, string | null>> {
  if (phones.length === 0) return new Map();
  const { rows } = await q.query<{ phone: string; name: string | null }>(
    'SELECT phone, name FROM customers WHERE phone = ANY($1::text[])',
    [phones],
  );
  return new Map(rows.map((r) => [r.phone, r.name]));
}



/**
 * A cheap fingerprint of the phone panel: the newest outbox and inbound row ids (both
 * primary-key look-ups, whatever the size of the tables).
 */
export async function phoneLogFingerprint(q: Queryable): Promise<string> {
  const { rows } = await q.query<{ sent: number | null; received: number | null }>(
    'SELECT (SELECT max(id) FROM sms_outbox) AS sent, (SELECT max(id) FROM inbound_messages) AS received',
  );
  return `${rows[0]?.sent ?? 0}:${rows[0]?.received ?? 0}`;
}
