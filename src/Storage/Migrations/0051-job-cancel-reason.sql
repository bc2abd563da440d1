-- Why cancellation was asked for, when it was not a person's cancel (stopped-by-search: a sweep's
-- early-stopping rule): a job that ends cancelled takes it as its termination reason, whatever the
-- attempt that stopped it said. NULL for every job before, and for a person's cancel.
ALTER TABLE jobs ADD COLUMN cancel_reason TEXT;
