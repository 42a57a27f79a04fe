-- A console post's key, the same on every attempt of its delivery (see PostKey in
-- src/bot/chatSurface.ts): an attempt that stored the post and died before the outbox
-- recorded it is found by the retry instead of stored twice. Null for posts without one.
ALTER TABLE console_posts ADD COLUMN post_key text;
CREATE UNIQUE INDEX console_posts_key ON console_posts (post_key) WHERE post_key IS NOT NULL;
