-- Uploaded datasets: immutable once created; their files are on the checkpoint volume
-- (<root>/datasets/<id>/), each file's count, size and SHA-256 in files.
CREATE TABLE IF NOT EXISTS datasets (
    id            uuid PRIMARY KEY,
    name          text,
    owner         text,
    image_rows    integer NOT NULL,
    image_columns integer NOT NULL,
    channels      integer NOT NULL,
    class_count   integer NOT NULL,
    class_names   jsonb,
    files         jsonb NOT NULL,
    digest        text NOT NULL,
    created_at    timestamptz NOT NULL
);
-- An owner's datasets newest first (listing).
CREATE INDEX IF NOT EXISTS datasets_owner_created ON datasets (owner, created_at, id);
CREATE INDEX IF NOT EXISTS datasets_created ON datasets (created_at, id);
