-- Existing jobs keep a NULL owner: submitted while authentication was off.
ALTER TABLE jobs ADD COLUMN owner TEXT;
CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs (owner, created_at, id);

-- Only the key's SHA-256 is kept; the key itself is shown once, when it is created.
CREATE TABLE IF NOT EXISTS api_keys (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    is_admin   INTEGER NOT NULL,
    key_sha256 TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
