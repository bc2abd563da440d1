-- Existing sweeps keep a NULL owner: created while authentication was off (or admin-only).
ALTER TABLE sweeps ADD COLUMN owner TEXT;
-- An owner's sweeps newest first (listing).
CREATE INDEX IF NOT EXISTS sweeps_owner_created ON sweeps (owner, created_at, id);
