-- Uploaded datasets: immutable once created; their files are on the checkpoint volume
-- (<root>/datasets/<id>/), each file's count, size and SHA-256 in files.
CREATE TABLE IF NOT EXISTS datasets (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT,
    owner         TEXT,
    image_rows    INTEGER NOT NULL,
    image_columns INTEGER NOT NULL,
    channels      INTEGER NOT NULL,
    class_count   INTEGER NOT NULL,
    class_names   TEXT,
    files         TEXT NOT NULL,
    digest        TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
-- An owner's datasets newest first (listing).
CREATE INDEX IF NOT EXISTS datasets_owner_created ON datasets (owner, created_at, id);
CREATE INDEX IF NOT EXISTS datasets_created ON datasets (created_at, id);
