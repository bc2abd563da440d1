CREATE TABLE IF NOT EXISTS jobs (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('train', 'eval')),
    architecture     TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelling', 'cancelled', 'interrupted')),
    name             TEXT,
    tags             TEXT NOT NULL,
    hyperparameters  TEXT NOT NULL,
    source           TEXT,
    idempotency_key  TEXT,
    queue            TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    attempt          INTEGER NOT NULL,
    lease_token      TEXT,
    worker           TEXT,
    device           TEXT,
    heartbeat_at     INTEGER,
    cancel_requested INTEGER NOT NULL,
    progress         TEXT,
    result           TEXT,
    error            TEXT
);
-- NULLs are distinct: jobs without a key never conflict.
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency_key ON jobs (idempotency_key);
-- Newest first, unfiltered and by each filter (scanned backwards); a tag filter scans.
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at, id);
CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs (status, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_architecture_created ON jobs (architecture, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_kind_created ON jobs (kind, created_at, id);

-- Metrics are nullable: SQLite has no NaN, so the store keeps one as NULL and reads it back as NaN.
CREATE TABLE IF NOT EXISTS job_epochs (
    job_id             TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    epoch              INTEGER NOT NULL,
    train_loss         REAL,
    train_accuracy     REAL,
    test_loss          REAL,
    test_accuracy      REAL,
    learning_rate      REAL,
    epoch_seconds      REAL,
    samples_per_second REAL,
    recorded_at        INTEGER NOT NULL,
    PRIMARY KEY (job_id, epoch)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS job_checkpoints (
    job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    epoch      INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    metrics    TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, epoch)
) WITHOUT ROWID;

-- No foreign key: a batch of log events is never refused for one unknown job id.
-- AUTOINCREMENT: sequences only ever increase, never reused.
CREATE TABLE IF NOT EXISTS job_logs (
    sequence   INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     TEXT NOT NULL,
    logged_at  INTEGER NOT NULL,
    level      TEXT NOT NULL,
    message    TEXT NOT NULL,
    properties TEXT
);
CREATE INDEX IF NOT EXISTS job_logs_job_sequence ON job_logs (job_id, sequence);

CREATE TABLE IF NOT EXISTS workers (
    id             TEXT PRIMARY KEY NOT NULL,
    host           TEXT NOT NULL,
    queues         TEXT NOT NULL,
    device         TEXT NOT NULL,
    running_job_id TEXT,
    started_at     INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS workers_last_heartbeat ON workers (last_heartbeat);
