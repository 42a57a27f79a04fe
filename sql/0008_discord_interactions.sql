-- Discord interaction ids already handled. The gateway may deliver an interaction again
-- after a reconnect and a retried HTTP request carries the same id: the first insert wins,
-- every later one is answered without acting. Rows older than a day are pruned (an
-- interaction token lives 15 minutes).
CREATE TABLE discord_interactions (
  id          text PRIMARY KEY,
  kind        text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX discord_interactions_received ON discord_interactions (received_at);
