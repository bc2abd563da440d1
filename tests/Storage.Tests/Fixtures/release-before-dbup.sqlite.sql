-- A database as the last release before DbUp left it: its schema, made by that release's own
-- migration list (SqliteJobStore.cs in that release's src/Storage, versions 1, 2, 3, 5, 6, copied verbatim), the
-- schema_version rows that list recorded, and rows in every table, some of them jobs stored before
-- normalization was a hyperparameter (hyperparameters without "normalization").
-- Generated once from that release's code; frozen: never regenerate it from a newer one.

CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY NOT NULL,
    description TEXT NOT NULL,
    applied_at  INTEGER NOT NULL
);

-- Migration 1: jobs, epochs, checkpoints, logs, workers.
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

-- Migration 2: job owners and API keys.
-- Existing jobs keep a NULL owner: submitted while authentication was off.
ALTER TABLE jobs ADD COLUMN owner TEXT;
CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs (owner, created_at, id);

-- Only the key's SHA-256 is kept; the key itself is shown once, when it is created.
CREATE TABLE IF NOT EXISTS api_keys (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    is_admin   INTEGER NOT NULL,
    key_sha256 TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- Migration 3: dispatch outbox.
-- When the job was handed to the queue; NULL while it still has to be (see JobDispatchSweeper).
ALTER TABLE jobs ADD COLUMN dispatched_at INTEGER;
UPDATE jobs SET dispatched_at = created_at WHERE dispatched_at IS NULL;
CREATE INDEX IF NOT EXISTS jobs_undispatched ON jobs (created_at, id) WHERE dispatched_at IS NULL;

-- Migration 5: sweeps.
CREATE TABLE IF NOT EXISTS sweeps (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT,
    tags             TEXT NOT NULL,
    base_job         TEXT NOT NULL,
    grid             TEXT NOT NULL,
    points           TEXT NOT NULL,
    point_count      INTEGER NOT NULL,
    max_concurrent   INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    cancel_requested INTEGER NOT NULL,
    cancelled_at     INTEGER
);
CREATE INDEX IF NOT EXISTS sweeps_created ON sweeps (created_at, id);
CREATE TABLE IF NOT EXISTS sweep_jobs (
    sweep_id TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    point    INTEGER NOT NULL,
    job_id   TEXT NOT NULL REFERENCES jobs (id),
    PRIMARY KEY (sweep_id, point)
);

-- Migration 6: sweep owners.
-- Existing sweeps keep a NULL owner: created while authentication was off (or admin-only).
ALTER TABLE sweeps ADD COLUMN owner TEXT;
-- An owner's sweeps newest first (listing).
CREATE INDEX IF NOT EXISTS sweeps_owner_created ON sweeps (owner, created_at, id);

INSERT INTO schema_version (version, description, applied_at) VALUES (1, 'jobs, epochs, checkpoints, logs, workers', 1741940814589793);
INSERT INTO schema_version (version, description, applied_at) VALUES (2, 'job owners and API keys', 1741940815589793);
INSERT INTO schema_version (version, description, applied_at) VALUES (3, 'dispatch outbox', 1741940816589793);
INSERT INTO schema_version (version, description, applied_at) VALUES (5, 'sweeps', 1741940818589793);
INSERT INTO schema_version (version, description, applied_at) VALUES (6, 'sweep owners', 1741940819589793);

INSERT INTO jobs (id, kind, architecture, status, name, tags, hyperparameters, source, idempotency_key, queue, created_at, started_at, finished_at, attempt, lease_token, worker, device, heartbeat_at, cancel_requested, progress, result, error, owner, dispatched_at) VALUES
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'train', 'convnet', 'succeeded', 'legacy convnet', '["legacy","study"]', '{"epochs":3,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"cpu","trainSubset":1000}', NULL, 'fixture-key-1', 'cpu', 1741944413589793, 1741944414589793, 1741944443589793, 1, NULL, 'worker-a', 'cpu', 1741944442589793, 0, '{"epoch":3,"epochs":3,"step":8,"stepsPerEpoch":8,"samplesPerSecond":5000.25,"etaSeconds":0,"runningLoss":0.05,"runningAccuracy":0.98,"updatedAt":"2025-03-14T09:27:23.589793+00:00"}', '{"finalTestAccuracy":0.9861,"finalTestLoss":0.0452,"bestTestAccuracy":0.9874,"bestTestLoss":0.0411,"bestEpoch":2,"confusionMatrix":null,"perClassAccuracy":null}', NULL, 'alice', 1741944413589793),
    ('01950002-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'train', 'resnet18', 'queued', NULL, '[]', '{"epochs":2,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"auto","trainSubset":1000}', NULL, NULL, 'default', 1741944423589793, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL),
    ('01950003-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'train', 'attention', 'running', 'legacy attention', '["legacy"]', '{"epochs":10,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"cpu","trainSubset":1000}', NULL, NULL, 'cpu', 1741944433589793, 1741944434589793, NULL, 1, '5f0c3e4a-1b2c-4d3e-8f4a-5b6c7d8e9f00', 'worker-a', 'cpu', 1741944438589793, 0, NULL, NULL, NULL, 'alice', 1741944433589793),
    ('01950004-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'train', 'convnet', 'interrupted', NULL, '["study"]', '{"epochs":3,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"cpu","trainSubset":1000,"normalization":"group"}', NULL, NULL, 'cpu', 1741944453589793, 1741944454589793, NULL, 1, NULL, NULL, NULL, 1741944458589793, 0, NULL, NULL, '{"kind":"infrastructure","message":"The worker stopped."}', 'alice', 1741944453589793),
    ('01950005-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'eval', 'convnet', 'failed', NULL, '[]', '{"epochs":3,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"cpu","trainSubset":1000}', '{"jobId":"01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e","checkpoint":"best"}', NULL, 'cpu', 1741944463589793, 1741944464589793, 1741944465589793, 1, NULL, 'worker-a', 'cpu', 1741944465589793, 0, NULL, NULL, '{"kind":"user","message":"No such checkpoint."}', NULL, 1741944463589793),
    ('01950006-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'train', 'mlp', 'cancelled', 'an architecture this build lacks', '[]', '{"epochs":3,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"cpu","trainSubset":1000}', NULL, NULL, 'cpu', 1741944473589793, NULL, 1741944474589793, 0, NULL, NULL, NULL, NULL, 1, NULL, NULL, NULL, NULL, 1741944473589793);

INSERT INTO job_epochs (job_id, epoch, train_loss, train_accuracy, test_loss, test_accuracy, learning_rate, epoch_seconds, samples_per_second, recorded_at) VALUES
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 1, 0.31, 0.91, 0.12, 0.962, 0.002, 12.5, 4800.5, 1741944423589793),
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 2, 0.11, 0.97, NULL, 0.9874, 0.002, 12.5, 4800.5, 1741944433589793);

INSERT INTO job_checkpoints (job_id, epoch, size_bytes, sha256, metrics, created_at) VALUES
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 2, 1562024, '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', '{"epoch":2,"trainLoss":0.11,"trainAccuracy":0.97,"testLoss":0.0411,"testAccuracy":0.9874,"learningRate":0.002,"epochSeconds":12.5,"samplesPerSecond":4800.5}', 1741944433589793);

INSERT INTO job_logs (job_id, logged_at, level, message, properties) VALUES
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 1741944414589793, 'Information', 'Job started', '{"Attempt":1}'),
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 1741944415589793, 'Warning', 'Slow epoch', NULL),
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 1741944416589793, 'Information', 'Job succeeded', NULL);

INSERT INTO workers (id, host, queues, device, running_job_id, started_at, last_heartbeat) VALUES
    ('worker-a', 'host-a', '["cpu","default"]', 'cpu', '01950003-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 1741944313589793, 1741944438589793);

INSERT INTO api_keys (id, name, is_admin, key_sha256, created_at, revoked_at) VALUES
    ('0195bbbb-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'alice', 0, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1741944363589793, NULL),
    ('0195cccc-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'admin', 1, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 1741944373589793, 1741944383589793);

INSERT INTO sweeps (id, name, tags, base_job, grid, points, point_count, max_concurrent, created_at, cancel_requested, cancelled_at, owner) VALUES
    ('0195aaaa-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'seeds', '["study"]', '{"kind":"train","architecture":"convnet"}', '[{"name":"seed","values":[1,2]}]', '[{"seed":1},{"seed":2}]', 2, 1, 1741944448589793, 0, NULL, 'alice');

INSERT INTO sweep_jobs (sweep_id, point, job_id) VALUES ('0195aaaa-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 0, '01950004-6c3e-7d4a-9b1e-2f3a4b5c6d7e');
