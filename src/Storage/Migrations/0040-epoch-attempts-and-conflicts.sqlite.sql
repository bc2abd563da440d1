-- Who trained each epoch: the attempt that finished it and wrote its record, the step it resumed
-- at, the optimizer steps it ran and those the earlier attempts ran before the mid-epoch checkpoint
-- it resumed from ([{"attempt": 1, "steps": 48}]). Epochs recorded before this stay NULL here.
ALTER TABLE job_epochs ADD COLUMN attempt INTEGER;
ALTER TABLE job_epochs ADD COLUMN resumed_from_step INTEGER;
ALTER TABLE job_epochs ADD COLUMN steps_run INTEGER;
ALTER TABLE job_epochs ADD COLUMN earlier_attempts TEXT;

-- A write of an epoch already recorded, by another attempt (or with other steps): the epoch was
-- trained twice. The first record stands; each such write is kept here once per attempt, as
-- evidence, where an upsert would have overwritten the record without a trace.
CREATE TABLE IF NOT EXISTS job_epoch_conflicts (
    job_id            TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    epoch             INTEGER NOT NULL,
    attempt           INTEGER NOT NULL,
    resumed_from_step INTEGER NOT NULL,
    steps_run         INTEGER NOT NULL,
    earlier_attempts  TEXT NOT NULL,
    recorded_at       INTEGER NOT NULL,
    PRIMARY KEY (job_id, epoch, attempt)
) WITHOUT ROWID;
