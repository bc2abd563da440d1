-- Who trained each epoch: the attempt that finished it and wrote its record, the step it resumed
-- at, the optimizer steps it ran and those the earlier attempts ran before the mid-epoch checkpoint
-- it resumed from ([{"attempt": 1, "steps": 48}]). Epochs recorded before this stay NULL here.
ALTER TABLE job_epochs ADD COLUMN IF NOT EXISTS attempt integer;
ALTER TABLE job_epochs ADD COLUMN IF NOT EXISTS resumed_from_step integer;
ALTER TABLE job_epochs ADD COLUMN IF NOT EXISTS steps_run integer;
ALTER TABLE job_epochs ADD COLUMN IF NOT EXISTS earlier_attempts jsonb;

-- A write of an epoch already recorded, by another attempt (or with other steps): the epoch was
-- trained twice. The first record stands; each such write is kept here once per attempt, as
-- evidence, where an upsert would have overwritten the record without a trace.
CREATE TABLE IF NOT EXISTS job_epoch_conflicts (
    job_id            uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    epoch             integer NOT NULL,
    attempt           integer NOT NULL,
    resumed_from_step integer NOT NULL,
    steps_run         integer NOT NULL,
    earlier_attempts  jsonb NOT NULL,
    recorded_at       timestamptz NOT NULL,
    PRIMARY KEY (job_id, epoch, attempt)
);
