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
