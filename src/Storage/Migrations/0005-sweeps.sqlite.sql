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
