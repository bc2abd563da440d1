-- A database as the last release before DbUp left it: its schema, made by that release's own
-- migration list (PostgresJobStore.cs in that release's src/Storage, versions 1, 2, 3, 5, 6, copied verbatim), the
-- schema_version rows that list recorded, and rows in every table, some of them jobs stored before
-- normalization was a hyperparameter (hyperparameters without "normalization").
-- Generated once from that release's code; frozen: never regenerate it from a newer one.

CREATE TABLE IF NOT EXISTS schema_version (
    version     integer PRIMARY KEY,
    description text NOT NULL,
    applied_at  timestamptz NOT NULL
);

-- Migration 1: jobs, epochs, checkpoints, logs, workers.
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

-- Migration 2: job owners and API keys.
-- Existing jobs keep a NULL owner: submitted while authentication was off.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS owner text;
-- An owner's jobs newest first (listing), and the per-owner count of unfinished ones.
CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs (owner, created_at, id);

-- Only the key's SHA-256 is kept; the key itself is shown once, when it is created.
CREATE TABLE IF NOT EXISTS api_keys (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    is_admin   boolean NOT NULL,
    key_sha256 text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- Migration 3: dispatch outbox.
-- When the job was handed to the queue; NULL while it still has to be (see JobDispatchSweeper).
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS dispatched_at timestamptz;
UPDATE jobs SET dispatched_at = created_at WHERE dispatched_at IS NULL;
CREATE INDEX IF NOT EXISTS jobs_undispatched ON jobs (created_at, id) WHERE dispatched_at IS NULL;

-- Migration 5: sweeps.
CREATE TABLE IF NOT EXISTS sweeps (
    id               uuid PRIMARY KEY,
    name             text,
    tags             jsonb NOT NULL,
    base_job         jsonb NOT NULL,
    grid             jsonb NOT NULL,
    points           jsonb NOT NULL,
    point_count      integer NOT NULL,
    max_concurrent   integer NOT NULL,
    created_at       timestamptz NOT NULL,
    cancel_requested boolean NOT NULL,
    cancelled_at     timestamptz
);
CREATE INDEX IF NOT EXISTS sweeps_created ON sweeps (created_at, id);
CREATE TABLE IF NOT EXISTS sweep_jobs (
    sweep_id uuid NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    point    integer NOT NULL,
    job_id   uuid NOT NULL REFERENCES jobs (id),
    PRIMARY KEY (sweep_id, point)
);

-- Migration 6: sweep owners.
-- Existing sweeps keep a NULL owner: created while authentication was off (or admin-only).
ALTER TABLE sweeps ADD COLUMN IF NOT EXISTS owner text;
-- An owner's sweeps newest first (listing).
CREATE INDEX IF NOT EXISTS sweeps_owner_created ON sweeps (owner, created_at, id);

INSERT INTO schema_version (version, description, applied_at) VALUES (1, 'jobs, epochs, checkpoints, logs, workers', TIMESTAMPTZ '2025-03-14 08:26:54.589793+00');
INSERT INTO schema_version (version, description, applied_at) VALUES (2, 'job owners and API keys', TIMESTAMPTZ '2025-03-14 08:26:55.589793+00');
INSERT INTO schema_version (version, description, applied_at) VALUES (3, 'dispatch outbox', TIMESTAMPTZ '2025-03-14 08:26:56.589793+00');
INSERT INTO schema_version (version, description, applied_at) VALUES (5, 'sweeps', TIMESTAMPTZ '2025-03-14 08:26:58.589793+00');
INSERT INTO schema_version (version, description, applied_at) VALUES (6, 'sweep owners', TIMESTAMPTZ '2025-03-14 08:26:59.589793+00');

INSERT INTO jobs (id, kind, architecture, status, name, tags, hyperparameters, source, idempotency_key, queue, created_at, started_at, finished_at, attempt, lease_token, worker, device, heartbeat_at, cancel_requested, progress, result, error, owner, dispatched_at) VALUES
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'train', 'convnet', 'succeeded', 'legacy convnet', '["legacy","study"]', '{"epochs":3,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"cpu","trainSubset":1000}', NULL, 'fixture-key-1', 'cpu', TIMESTAMPTZ '2025-03-14 09:26:53.589793+00', TIMESTAMPTZ '2025-03-14 09:26:54.589793+00', TIMESTAMPTZ '2025-03-14 09:27:23.589793+00', 1, NULL, 'worker-a', 'cpu', TIMESTAMPTZ '2025-03-14 09:27:22.589793+00', FALSE, '{"epoch":3,"epochs":3,"step":8,"stepsPerEpoch":8,"samplesPerSecond":5000.25,"etaSeconds":0,"runningLoss":0.05,"runningAccuracy":0.98,"updatedAt":"2025-03-14T09:27:23.589793+00:00"}', '{"finalTestAccuracy":0.9861,"finalTestLoss":0.0452,"bestTestAccuracy":0.9874,"bestTestLoss":0.0411,"bestEpoch":2,"confusionMatrix":null,"perClassAccuracy":null}', NULL, 'alice', TIMESTAMPTZ '2025-03-14 09:26:53.589793+00'),
    ('01950002-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'train', 'resnet18', 'queued', NULL, '[]', '{"epochs":2,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"auto","trainSubset":1000}', NULL, NULL, 'default', TIMESTAMPTZ '2025-03-14 09:27:03.589793+00', NULL, NULL, 0, NULL, NULL, NULL, NULL, FALSE, NULL, NULL, NULL, NULL, NULL),
    ('01950003-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'train', 'attention', 'running', 'legacy attention', '["legacy"]', '{"epochs":10,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"cpu","trainSubset":1000}', NULL, NULL, 'cpu', TIMESTAMPTZ '2025-03-14 09:27:13.589793+00', TIMESTAMPTZ '2025-03-14 09:27:14.589793+00', NULL, 1, '5f0c3e4a-1b2c-4d3e-8f4a-5b6c7d8e9f00', 'worker-a', 'cpu', TIMESTAMPTZ '2025-03-14 09:27:18.589793+00', FALSE, NULL, NULL, NULL, 'alice', TIMESTAMPTZ '2025-03-14 09:27:13.589793+00'),
    ('01950004-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'train', 'convnet', 'interrupted', NULL, '["study"]', '{"epochs":3,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"cpu","trainSubset":1000,"normalization":"group"}', NULL, NULL, 'cpu', TIMESTAMPTZ '2025-03-14 09:27:33.589793+00', TIMESTAMPTZ '2025-03-14 09:27:34.589793+00', NULL, 1, NULL, NULL, NULL, TIMESTAMPTZ '2025-03-14 09:27:38.589793+00', FALSE, NULL, NULL, '{"kind":"infrastructure","message":"The worker stopped."}', 'alice', TIMESTAMPTZ '2025-03-14 09:27:33.589793+00'),
    ('01950005-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'eval', 'convnet', 'failed', NULL, '[]', '{"epochs":3,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"cpu","trainSubset":1000}', '{"jobId":"01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e","checkpoint":"best"}', NULL, 'cpu', TIMESTAMPTZ '2025-03-14 09:27:43.589793+00', TIMESTAMPTZ '2025-03-14 09:27:44.589793+00', TIMESTAMPTZ '2025-03-14 09:27:45.589793+00', 1, NULL, 'worker-a', 'cpu', TIMESTAMPTZ '2025-03-14 09:27:45.589793+00', FALSE, NULL, NULL, '{"kind":"user","message":"No such checkpoint."}', NULL, TIMESTAMPTZ '2025-03-14 09:27:43.589793+00'),
    ('01950006-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'train', 'mlp', 'cancelled', 'an architecture this build lacks', '[]', '{"epochs":3,"batchSize":128,"learningRate":0.002,"optimizer":"adam","weightDecay":0,"momentum":0.9,"lrSchedule":"onecycle","stepEpochs":1,"stepGamma":0.1,"seed":42,"device":"cpu","trainSubset":1000}', NULL, NULL, 'cpu', TIMESTAMPTZ '2025-03-14 09:27:53.589793+00', NULL, TIMESTAMPTZ '2025-03-14 09:27:54.589793+00', 0, NULL, NULL, NULL, NULL, TRUE, NULL, NULL, NULL, NULL, TIMESTAMPTZ '2025-03-14 09:27:53.589793+00');

INSERT INTO job_epochs (job_id, epoch, train_loss, train_accuracy, test_loss, test_accuracy, learning_rate, epoch_seconds, samples_per_second, recorded_at) VALUES
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 1, 0.31, 0.91, 0.12, 0.962, 0.002, 12.5, 4800.5, TIMESTAMPTZ '2025-03-14 09:27:03.589793+00'),
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 2, 0.11, 0.97, 'NaN', 0.9874, 0.002, 12.5, 4800.5, TIMESTAMPTZ '2025-03-14 09:27:13.589793+00');

INSERT INTO job_checkpoints (job_id, epoch, size_bytes, sha256, metrics, created_at) VALUES
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 2, 1562024, '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', '{"epoch":2,"trainLoss":0.11,"trainAccuracy":0.97,"testLoss":0.0411,"testAccuracy":0.9874,"learningRate":0.002,"epochSeconds":12.5,"samplesPerSecond":4800.5}', TIMESTAMPTZ '2025-03-14 09:27:13.589793+00');

INSERT INTO job_logs (job_id, logged_at, level, message, properties) VALUES
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', TIMESTAMPTZ '2025-03-14 09:26:54.589793+00', 'Information', 'Job started', '{"Attempt":1}'),
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', TIMESTAMPTZ '2025-03-14 09:26:55.589793+00', 'Warning', 'Slow epoch', NULL),
    ('01950001-6c3e-7d4a-9b1e-2f3a4b5c6d7e', TIMESTAMPTZ '2025-03-14 09:26:56.589793+00', 'Information', 'Job succeeded', NULL);

INSERT INTO workers (id, host, queues, device, running_job_id, started_at, last_heartbeat) VALUES
    ('worker-a', 'host-a', '["cpu","default"]', 'cpu', '01950003-6c3e-7d4a-9b1e-2f3a4b5c6d7e', TIMESTAMPTZ '2025-03-14 09:25:13.589793+00', TIMESTAMPTZ '2025-03-14 09:27:18.589793+00');

INSERT INTO api_keys (id, name, is_admin, key_sha256, created_at, revoked_at) VALUES
    ('0195bbbb-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'alice', FALSE, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', TIMESTAMPTZ '2025-03-14 09:26:03.589793+00', NULL),
    ('0195cccc-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'admin', TRUE, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', TIMESTAMPTZ '2025-03-14 09:26:13.589793+00', TIMESTAMPTZ '2025-03-14 09:26:23.589793+00');

INSERT INTO sweeps (id, name, tags, base_job, grid, points, point_count, max_concurrent, created_at, cancel_requested, cancelled_at, owner) VALUES
    ('0195aaaa-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 'seeds', '["study"]', '{"kind":"train","architecture":"convnet"}', '[{"name":"seed","values":[1,2]}]', '[{"seed":1},{"seed":2}]', 2, 1, TIMESTAMPTZ '2025-03-14 09:27:28.589793+00', FALSE, NULL, 'alice');

INSERT INTO sweep_jobs (sweep_id, point, job_id) VALUES ('0195aaaa-6c3e-7d4a-9b1e-2f3a4b5c6d7e', 0, '01950004-6c3e-7d4a-9b1e-2f3a4b5c6d7e');
