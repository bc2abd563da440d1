-- What a job trains or evaluates on: mnist, fashion-mnist, or an uploaded dataset's id. Every job
-- stored before this trained on (or evaluated a checkpoint trained on) MNIST, which the default names.
ALTER TABLE jobs ADD COLUMN dataset TEXT NOT NULL DEFAULT 'mnist';
-- Whether an uploaded dataset is in use by an unfinished job (what deleting it checks).
CREATE INDEX IF NOT EXISTS jobs_dataset_status ON jobs (dataset, status);
