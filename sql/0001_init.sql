-- smsops schema, first migration. Plain SQL for PostgreSQL 15+ and PGlite.

-- Customers: one row per E.164 phone number. Segment fields have typed columns;
-- any other CSV column lands in `attributes`.
CREATE TABLE customers (
  id                bigserial PRIMARY KEY,
  external_id       text UNIQUE,
  name              text,
  phone             text NOT NULL UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  email             text,
  timezone          text,
  state             text,
  last_visit_at     date,
  first_seen_at     date,
  visits            integer CHECK (visits >= 0),
  total_spend       numeric(12, 2),
  favorite_category text,
  attributes        jsonb NOT NULL DEFAULT '{}'::jsonb,
  consent_status    text NOT NULL DEFAULT 'unknown' CHECK (consent_status IN ('opted_in', 'unknown', 'denied')),
  consent_source    text,
  consent_at        timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Opt-out state per phone number, whether or not the number is a customer.
-- A customer import never changes this table: only keywords (STOP/START), the
-- provider's 21610 answer and explicit manager actions do.
CREATE TABLE contact_status (
  phone      text PRIMARY KEY CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  status     text NOT NULL CHECK (status IN ('opted_out', 'subscribed')),
  keyword    text,
  source     text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaigns (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 80),
  status        text NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'active', 'paused', 'completed', 'cancelled')),
  campaign_type text NOT NULL DEFAULT 'retention',
  -- goal, offer, tone, brand, signoff: what the generator is asked to write.
  brief         jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Overrides of the campaign defaults (timezone, businessHours, businessDays, pacing,
  -- caps, maxSegments, optOutText, linkAllowlist, ...), validated in code.
  settings      jsonb NOT NULL DEFAULT '{}'::jsonb,
  test_mode     boolean NOT NULL DEFAULT false,
  test_numbers  text[] NOT NULL DEFAULT '{}',
  chat_surface  text CHECK (chat_surface IN ('slack', 'discord', 'console')),
  chat_channel  text,
  -- Seed of the campaign's pacing randomness: re-planning is deterministic.
  seed          integer NOT NULL DEFAULT floor(random() * 2147483647)::integer,
  paused_reason text,
  created_by    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE batches (
  id                 bigserial PRIMARY KEY,
  campaign_id        bigint NOT NULL REFERENCES campaigns(id),
  segment_spec       text NOT NULL,
  generator          text NOT NULL,
  suggestion_count   integer NOT NULL DEFAULT 0,
  lint_finding_count integer NOT NULL DEFAULT 0,
  estimated_cost_usd numeric(12, 4) NOT NULL DEFAULT 0,
  llm_usage          jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- pending: waiting for a chat surface to post it; posted: parent + cards are up.
  post_state         text NOT NULL DEFAULT 'pending' CHECK (post_state IN ('pending', 'posted', 'not_posted')),
  posted_at          timestamptz,
  -- Per surface: where the parent message lives, e.g. {"slack": {"channel": "C1", "ts": "1.2"}}.
  chat_refs          jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Per surface: the progress message edited in place.
  progress_refs      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_by         text,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batches_post_pending ON batches (created_at) WHERE post_state = 'pending';

-- The heart of the product: one row per suggested SMS, through its whole life.
CREATE TABLE campaign_messages (
  id                  bigserial PRIMARY KEY,
  campaign_id         bigint NOT NULL REFERENCES campaigns(id),
  batch_id            bigint REFERENCES batches(id),
  customer_id         bigint REFERENCES customers(id),
  phone               text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  body                text NOT NULL,
  original_body       text,
  campaign_type       text NOT NULL DEFAULT 'retention',
  variant             text,
  status              text NOT NULL DEFAULT 'suggested' CHECK (status IN (
                        'suggested', 'approved', 'rejected', 'sending', 'sent', 'delivered',
                        'undelivered', 'failed', 'unknown', 'cancelled', 'needs_review')),
  scheduled_send_time timestamptz,
  suggested_by        text NOT NULL DEFAULT 'generator',
  suggested_at        timestamptz NOT NULL DEFAULT now(),
  approved_by         text,
  approved_at         timestamptz,
  rejected_by         text,
  rejected_at         timestamptz,
  edited_by           text,
  edited_at           timestamptz,
  cancelled_reason    text,
  provider            text,
  provider_message_id text UNIQUE,
  -- Provider ids of the 2nd.. bubbles when the body holds [BUBBLE] separators.
  extra_provider_ids  text[] NOT NULL DEFAULT '{}',
  segments            integer NOT NULL DEFAULT 1,
  encoding            text NOT NULL DEFAULT 'GSM-7' CHECK (encoding IN ('GSM-7', 'UCS-2')),
  -- Incremented by every claim: a stale sender's write is fenced out by it.
  attempts            integer NOT NULL DEFAULT 0,
  last_attempt_at     timestamptz,
  sent_at             timestamptz,
  delivered_at        timestamptz,
  last_error          text,
  error_code          text,
  customer_context    jsonb NOT NULL DEFAULT '{}'::jsonb,
  rationale           text,
  lint                jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- Per surface: where this message's card lives, e.g. {"slack": {"channel": "C1", "ts": "1.3"}}.
  card_refs           jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Incremented by every transition; optimistic concurrency for edits.
  version             integer NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  -- Nobody gets the same campaign twice.
  UNIQUE (campaign_id, phone),
  -- No send without a recorded human approval, enforced by the database itself.
  CONSTRAINT approval_before_send CHECK (
    status NOT IN ('approved', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'unknown')
    OR (approved_by IS NOT NULL AND approved_at IS NOT NULL)
  ),
  CONSTRAINT sent_has_provider_id CHECK (
    status NOT IN ('sent', 'delivered', 'undelivered') OR provider_message_id IS NOT NULL
  )
);
-- The dispatcher's due-query: approved messages by slot.
CREATE INDEX campaign_messages_due ON campaign_messages (scheduled_send_time) WHERE status = 'approved';
CREATE INDEX campaign_messages_phone ON campaign_messages (phone, sent_at DESC);
CREATE INDEX campaign_messages_batch ON campaign_messages (batch_id, id);
CREATE INDEX campaign_messages_campaign_status ON campaign_messages (campaign_id, status);
-- Rate caps count recent attempts.
CREATE INDEX campaign_messages_attempted ON campaign_messages (last_attempt_at) WHERE last_attempt_at IS NOT NULL;
CREATE INDEX campaign_messages_unknown ON campaign_messages (last_attempt_at) WHERE status IN ('unknown', 'sending');

-- Provider status callbacks, once per (message, status).
CREATE TABLE delivery_events (
  id                  bigserial PRIMARY KEY,
  provider_message_id text NOT NULL,
  status              text NOT NULL,
  error_code          text,
  payload             jsonb NOT NULL DEFAULT '{}'::jsonb,
  received_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider_message_id, status)
);

-- Inbound SMS, once per provider id.
CREATE TABLE inbound_messages (
  id                  bigserial PRIMARY KEY,
  provider_message_id text NOT NULL UNIQUE,
  from_phone          text NOT NULL,
  to_phone            text,
  body                text NOT NULL,
  -- stop | start | help | reply
  kind                text NOT NULL CHECK (kind IN ('stop', 'start', 'help', 'reply')),
  likely_opt_out      boolean NOT NULL DEFAULT false,
  customer_id         bigint REFERENCES customers(id),
  -- The campaign message this reply is attributed to (latest sent to that number).
  message_id          bigint REFERENCES campaign_messages(id),
  received_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbound_messages_from ON inbound_messages (from_phone, received_at DESC);
CREATE INDEX inbound_messages_message ON inbound_messages (message_id);

-- Every human action and every state change: who, what, when, before and after.
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  actor       text NOT NULL,
  surface     text NOT NULL,
  action      text NOT NULL,
  entity_type text NOT NULL,
  entity_id   text NOT NULL,
  before      jsonb,
  after       jsonb,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id, at);

-- Chat posts as an outbox: written in the same transaction as the change they report,
-- delivered by a worker, retried until they land. `dedupe_key` makes each post unique
-- (e.g. 'summary:slack:C1:2026-11-23', 'reply:<inbound id>').
CREATE TABLE chat_outbox (
  id              bigserial PRIMARY KEY,
  surface         text NOT NULL,
  kind            text NOT NULL,
  dedupe_key      text NOT NULL UNIQUE,
  batch_id        bigint REFERENCES batches(id),
  payload         jsonb NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'dead')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text,
  result          jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  done_at         timestamptz
);
CREATE INDEX chat_outbox_due ON chat_outbox (next_attempt_at) WHERE status = 'pending';
