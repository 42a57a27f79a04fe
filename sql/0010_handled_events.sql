-- Ids of inbound platform events already acted on, for every chat platform: Discord
-- interactions (a gateway reconnect or a retried HTTP request repeats the id) and Slack
-- events (Slack redelivers an event it thinks we missed, with the same event_id, also after
-- a restart of ours). The first insert wins; rows older than a day are pruned.
ALTER TABLE discord_interactions RENAME TO handled_events;
ALTER TABLE handled_events ADD COLUMN source text NOT NULL DEFAULT 'discord' CHECK (source IN ('discord', 'slack'));
ALTER TABLE handled_events ALTER COLUMN source DROP DEFAULT;
ALTER TABLE handled_events DROP CONSTRAINT discord_interactions_pkey;
ALTER TABLE handled_events ADD PRIMARY KEY (source, id);
ALTER INDEX discord_interactions_received RENAME TO handled_events_received;
