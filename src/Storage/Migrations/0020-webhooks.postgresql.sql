-- Webhooks (docs/webhooks.md): who is called back, the events to deliver, every attempt.

-- A job's or sweep's own callback (target_kind and target_id set), or a default subscription of an
-- owner (target_id NULL: every job and sweep of that owner; owner NULL while authentication is off).
-- The secret signs the events; it is never returned by the API.
CREATE TABLE IF NOT EXISTS webhook_subscriptions (
    id          uuid PRIMARY KEY,
    owner       text,
    target_kind text,
    target_id   uuid,
    url         text NOT NULL,
    secret      text NOT NULL,
    events      jsonb,
    created_at  timestamptz NOT NULL,
    deleted_at  timestamptz
);
CREATE INDEX IF NOT EXISTS webhook_subscriptions_target ON webhook_subscriptions (target_id) WHERE target_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS webhook_subscriptions_defaults ON webhook_subscriptions (owner, created_at, id) WHERE target_id IS NULL;

-- One event for one subscription: the exact body every attempt sends, and when the next attempt is due.
-- An attempt in progress holds a lease (token and expiry), so one API process at a time attempts it.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id              uuid PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id),
    target_kind     text NOT NULL,
    target_id       uuid NOT NULL,
    event_type      text NOT NULL,
    payload         text NOT NULL,
    state           text NOT NULL,
    attempts        integer NOT NULL,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    finished_at     timestamptz,
    lease_token     uuid,
    lease_until     timestamptz
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_target ON webhook_deliveries (target_id, created_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_subscription ON webhook_deliveries (subscription_id) WHERE state = 'pending';

CREATE TABLE IF NOT EXISTS webhook_attempts (
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    started_at  timestamptz NOT NULL,
    duration_ms integer NOT NULL,
    status_code integer,
    error       text,
    PRIMARY KEY (delivery_id, attempt)
);

-- When a job's or sweep's end was turned into deliveries; NULL until then. What ended before
-- webhooks existed counts as announced: nobody subscribed to it.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS webhooks_announced_at timestamptz;
UPDATE jobs SET webhooks_announced_at = COALESCE(finished_at, created_at)
WHERE status IN ('succeeded', 'failed', 'cancelled') AND webhooks_announced_at IS NULL;
CREATE INDEX IF NOT EXISTS jobs_unannounced ON jobs (finished_at, id)
    WHERE webhooks_announced_at IS NULL AND status IN ('succeeded', 'failed', 'cancelled');

ALTER TABLE sweeps ADD COLUMN IF NOT EXISTS webhooks_announced_at timestamptz;
UPDATE sweeps SET webhooks_announced_at = COALESCE(cancelled_at, created_at)
WHERE webhooks_announced_at IS NULL
  AND (cancel_requested = TRUE
       OR point_count = (SELECT COUNT(*) FROM sweep_jobs sj JOIN jobs j ON j.id = sj.job_id
                         WHERE sj.sweep_id = sweeps.id AND j.status IN ('succeeded', 'failed', 'cancelled')));
CREATE INDEX IF NOT EXISTS sweeps_unannounced ON sweeps (created_at, id) WHERE webhooks_announced_at IS NULL;
