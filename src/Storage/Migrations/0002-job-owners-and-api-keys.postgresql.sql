-- Existing jobs keep a NULL owner: submitted while authentication was off.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS owner text;
-- An owner's jobs newest first (listing), and the per-owner count of unfinished ones.
CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs (owner, created_at, id);

-- Only the key's SHA-256 is kept; the key itself is shown once, when it is created.
CREATE TABLE IF NOT EXISTS api_keys (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    is_admin   boolean NOT NULL,
    key_sha256 text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
