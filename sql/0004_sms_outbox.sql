-- The local SMS outbox: the embedded provider "sends" by writing here, so tests, the demo
-- and the console's phone panel can read what went out. Twilio users never write to it.
CREATE TABLE sms_outbox (
  id                  bigserial PRIMARY KEY,
  provider_message_id text NOT NULL UNIQUE,
  to_phone            text NOT NULL,
  body                text NOT NULL,
  -- The campaign message it belongs to (null for HELP answers and test sends).
  message_id          bigint,
  bubble              integer NOT NULL DEFAULT 0,
  status              text NOT NULL DEFAULT 'delivered',
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_outbox_to ON sms_outbox (to_phone, created_at DESC);
CREATE INDEX sms_outbox_message ON sms_outbox (message_id);
