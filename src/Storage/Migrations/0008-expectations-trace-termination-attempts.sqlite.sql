-- A job's expectations (CI gates on its final figures), the traceparent of the request that
-- submitted it, and why it ended; and one row per attempt, written as attempts start and end.
ALTER TABLE jobs ADD COLUMN expect TEXT;
ALTER TABLE jobs ADD COLUMN trace_parent TEXT;
ALTER TABLE jobs ADD COLUMN termination_reason TEXT;
CREATE TABLE IF NOT EXISTS job_attempts (
    job_id             TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt            INTEGER NOT NULL,
    worker             TEXT NOT NULL,
    device             TEXT NOT NULL,
    started_at         INTEGER NOT NULL,
    ended_at           INTEGER,
    reason             TEXT,
    message            TEXT,
    started_from_epoch INTEGER,
    started_from_step  INTEGER,
    reached_epoch      INTEGER,
    reached_step       INTEGER,
    PRIMARY KEY (job_id, attempt)
);
-- Jobs that ended before attempts were recorded say how, from what they kept.
UPDATE jobs SET termination_reason = CASE
        WHEN status = 'succeeded' THEN 'succeeded'
        WHEN status = 'cancelled' THEN 'cancelled'
        WHEN json_extract(error, '$.kind') = 'timeout' THEN 'timeout'
        WHEN json_extract(error, '$.kind') = 'user' THEN 'user-error'
        ELSE 'infrastructure-error' END
    WHERE status IN ('succeeded', 'failed', 'cancelled') AND termination_reason IS NULL;
