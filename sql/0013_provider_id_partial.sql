-- Unsent messages have no provider id: the unique index keeps only the ones that do, so the
-- claim and every other write of an unsent message adds no index entry for a null.
ALTER TABLE campaign_messages DROP CONSTRAINT campaign_messages_provider_message_id_key;
CREATE UNIQUE INDEX campaign_messages_provider_message_id_key ON campaign_messages (provider_message_id) WHERE provider_message_id IS NOT NULL;
