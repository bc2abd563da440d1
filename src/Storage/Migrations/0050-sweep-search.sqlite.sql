-- Search beyond the grid (random trials, early stopping): how a sweep searches, as JSON (method,
-- space, seed, early-stopping rule); NULL for the sweeps made before, which are grids without early
-- stopping. And every decision of an early-stopping rule, once per (sweep, trial, epoch): the key
-- makes the first API process to judge a trial at a rung the only one whose decision counts.
ALTER TABLE sweeps ADD COLUMN search TEXT;
CREATE TABLE IF NOT EXISTS sweep_decisions (
    sweep_id   TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    point      INTEGER NOT NULL,
    epoch      INTEGER NOT NULL,
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    value      REAL NOT NULL,
    cutoff     REAL,
    compared   INTEGER NOT NULL,
    stop       INTEGER NOT NULL,
    decided_at INTEGER NOT NULL,
    PRIMARY KEY (sweep_id, point, epoch)
);
-- A job runs at most one trial of one sweep (sweep_jobs' key already gives a trial at most one job).
CREATE UNIQUE INDEX IF NOT EXISTS sweep_jobs_job ON sweep_jobs (job_id);
