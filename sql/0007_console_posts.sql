-- The local web console's chat history: what the console surface posted (batch parents,
-- approval cards, thread and channel messages), stored as the same platform-agnostic
-- models the other surfaces render, and re-rendered by the browser from a JSON API.
CREATE TABLE console_posts (
  id         bigserial PRIMARY KEY,
  channel    text NOT NULL,
  -- The batch parent this post is a reply to; null for a top-level post in the channel.
  thread_id  bigint REFERENCES console_posts(id),
  -- batch: BatchHeaderModel; card: CardModel; message: ChatMessage.
  kind       text NOT NULL CHECK (kind IN ('batch', 'card', 'message')),
  model      jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_posts_channel ON console_posts (channel, id) WHERE thread_id IS NULL;
CREATE INDEX console_posts_thread ON console_posts (thread_id, id) WHERE thread_id IS NOT NULL;
