-- Dispatch indexes shaped like the queries that use them.
-- The due-query orders by (scheduled_send_time, id) and stops after one batch: with the id
-- in the index it walks the index in order and never sorts the whole due backlog. Partial,
-- so a claim (the row leaves 'approved') adds no entry.
CREATE INDEX campaign_messages_due_order ON campaign_messages (scheduled_send_time, id) WHERE status = 'approved';
DROP INDEX campaign_messages_due;
-- Every read of last_attempt_at that is not about 'sending'/'unknown' (rate caps, error
-- budget, latest batch) is per campaign: lead with the campaign, same number of entries.
CREATE INDEX campaign_messages_campaign_attempted ON campaign_messages (campaign_id, last_attempt_at) WHERE last_attempt_at IS NOT NULL;
DROP INDEX campaign_messages_attempted;
