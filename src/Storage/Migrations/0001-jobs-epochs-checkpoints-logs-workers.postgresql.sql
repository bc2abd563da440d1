CREATE TABLE IF NOT EXISTS jobs (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('train', 'eval')),
    architecture     text NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelling', 'cancelled', 'interrupted')),
    name             text,
    tags             jsonb NOT NULL,
    hyperparameters  jsonb NOT NULL,
    source           jsonb,
    idempotency_key  text,
    queue            text NOT NULL,
    created_at       timestamptz NOT NULL,
    started_at       timestamptz,
    finished_at      timestamptz,
    attempt          integer NOT NULL,
    lease_token      uuid,
    worker           text,
    device           text,
    heartbeat_at     timestamptz,
    cancel_requested boolean NOT NULL,
    progress         jsonb,
    result           jsonb,
    error            jsonb
);
-- NULLs are distinct: jobs without a key never conflict.
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency_key ON jobs (idempotency_key);
-- Newest first, unfiltered and by each filter (scanned backwards); tags through GIN.
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at, id);
CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs (status, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_architecture_created ON jobs (architecture, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_kind_created ON jobs (kind, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_tags ON jobs USING gin (tags jsonb_path_ops);

CREATE TABLE IF NOT EXISTS job_epochs (
    job_id             uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    epoch              integer NOT NULL,
    train_loss         double precision NOT NULL,
    train_accuracy     double precision NOT NULL,
    test_loss          double precision NOT NULL,
    test_accuracy      double precision NOT NULL,
    learning_rate      double precision NOT NULL,
    epoch_seconds      double precision NOT NULL,
    samples_per_second double precision NOT NULL,
    recorded_at        timestamptz NOT NULL,
    PRIMARY KEY (job_id, epoch)
);

CREATE TABLE IF NOT EXISTS job_checkpoints (
    job_id     uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    epoch      integer NOT NULL,
    size_bytes bigint NOT NULL,
    sha256     text NOT NULL,
    metrics    jsonb,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (job_id, epoch)
);

-- No foreign key: a batch of log events is never refused for one unknown job id.
CREATE TABLE IF NOT EXISTS job_logs (
    sequence   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id     uuid NOT NULL,
    logged_at  timestamptz NOT NULL,
    level      text NOT NULL,
    message    text NOT NULL,
    properties text
);
CREATE INDEX IF NOT EXISTS job_logs_job_sequence ON job_logs (job_id, sequence);

CREATE TABLE IF NOT EXISTS workers (
    id             text PRIMARY KEY,
    host           text NOT NULL,
    queues         jsonb NOT NULL,
    device         text NOT NULL,
    running_job_id uuid,
    started_at     timestamptz NOT NULL,
    last_heartbeat timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS workers_last_heartbeat ON workers (last_heartbeat);
