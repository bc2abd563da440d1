-- Search beyond the grid (random trials, early stopping): how a sweep searches, as JSON (method,
-- space, seed, early-stopping rule); NULL for the sweeps made before, which are grids without early
-- stopping. And every decision of an early-stopping rule, once per (sweep, trial, epoch): the key
-- makes the first API process to judge a trial at a rung the only one whose decision counts.
ALTER TABLE sweeps ADD COLUMN IF NOT EXISTS search jsonb;
CREATE TABLE IF NOT EXISTS sweep_decisions (
    sweep_id   uuid NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    point      integer NOT NULL,
    epoch      integer NOT NULL,
    job_id     uuid NOT NULL REFERENCES jobs (id),
    value      double precision NOT NULL,
    cutoff     double precision,
    compared   integer NOT NULL,
    stop       boolean NOT NULL,
    decided_at timestamptz NOT NULL,
    PRIMARY KEY (sweep_id, point, epoch)
);
-- A job runs at most one trial of one sweep (sweep_jobs' key already gives a trial at most one job).
CREATE UNIQUE INDEX IF NOT EXISTS sweep_jobs_job ON sweep_jobs (job_id);
