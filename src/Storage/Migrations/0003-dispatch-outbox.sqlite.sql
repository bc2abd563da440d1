-- When the job was handed to the queue; NULL while it still has to be (see JobDispatchSweeper).
ALTER TABLE jobs ADD COLUMN dispatched_at INTEGER;
UPDATE jobs SET dispatched_at = created_at WHERE dispatched_at IS NULL;
CREATE INDEX IF NOT EXISTS jobs_undispatched ON jobs (created_at, id) WHERE dispatched_at IS NULL;
