-- A job's expectations (CI gates on its final figures), the traceparent of the request that
-- submitted it, and why it ended; and one row per attempt, written as attempts start and end.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS expect jsonb;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS trace_parent text;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS termination_reason text;
CREATE TABLE IF NOT EXISTS job_attempts (
    job_id             uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt            integer NOT NULL,
    worker             text NOT NULL,
    device             text NOT NULL,
    started_at         timestamptz NOT NULL,
    ended_at           timestamptz,
    reason             text,
    message            text,
    started_from_epoch integer,
    started_from_step  bigint,
    reached_epoch      integer,
    reached_step       bigint,
    PRIMARY KEY (job_id, attempt)
);
-- Jobs that ended before attempts were recorded say how, from what they kept.
UPDATE jobs SET termination_reason = CASE
        WHEN status = 'succeeded' THEN 'succeeded'
        WHEN status = 'cancelled' THEN 'cancelled'
        WHEN error ->> 'kind' = 'timeout' THEN 'timeout'
        WHEN error ->> 'kind' = 'user' THEN 'user-error'
        ELSE 'infrastructure-error' END
    WHERE status IN ('succeeded', 'failed', 'cancelled') AND termination_reason IS NULL;
