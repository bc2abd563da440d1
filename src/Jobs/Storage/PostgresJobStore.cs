using System.Data.Common;
using Dapper;
using Npgsql;

namespace TrainingService.Jobs.Storage;

/// <summary>
/// The job store in PostgreSQL: ids are <c>uuid</c>, times <c>timestamptz</c>, JSON <c>jsonb</c>.
/// Statements run at READ COMMITTED, where a conditional UPDATE re-checks its condition against a
/// row a concurrent transaction changed, which is what makes each of them atomic.
/// </summary>
public sealed class PostgresJobStore : SqlJobStore
{
    /// <summary>The advisory lock (one bigint key) that serialises migrations: "TSJobsMg".</summary>
    private const long MigrationLockKey = 0x54534A6F62734D67;

    /// <summary>The first key of the advisory locks (two int keys) that serialise log appends per job: "TSLg".</summary>
    private const int LogLockNamespace = 0x54534C67;

    private readonly NpgsqlDataSource _dataSource;

    public PostgresJobStore(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    private protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    private protected override async ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(cancellationToken);

    private protected override Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        // Concurrent CREATE TABLE IF NOT EXISTS can still fail on PostgreSQL's catalog; the lock,
        // held until the migration commits, makes the other processes wait and then find it done.
        connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@Key)",
            new { Key = MigrationLockKey }, transaction, cancellationToken: cancellationToken));

    private protected override async Task LockJobLogsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Guid> jobIds, CancellationToken cancellationToken)
    {
        // An identity value is taken at insert but seen at commit: two concurrent appends to one job
        // could commit out of order, and a reader that paged past the later sequence would never see
        // the earlier one. Taken in key order, so two batches never wait on each other in a cycle.
        foreach (var key in jobIds.Select(LogLockKey).Distinct().Order())
        {
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@Namespace, @Key)",
                new { Namespace = LogLockNamespace, Key = key }, transaction, cancellationToken: cancellationToken));
        }
    }

    private static int LogLockKey(Guid jobId)
    {
        Span<byte> bytes = stackalloc byte[16];
        jobId.TryWriteBytes(bytes);
        return BitConverter.ToInt32(bytes[..4]) ^ BitConverter.ToInt32(bytes[4..8]) ^ BitConverter.ToInt32(bytes[8..12]) ^ BitConverter.ToInt32(bytes[12..]);
    }

    private protected override object DbId(Guid id) => id;

    private protected override object DbTime(DateTimeOffset time) => StoredTime.Truncate(time);

    private protected override string JsonParameter(string parameter) => $"CAST({parameter} AS jsonb)";

    private protected override string TagCondition(string parameter) => $"tags @> jsonb_build_array(CAST({parameter} AS text))";

    private protected override string ShareLockClause => " FOR SHARE";

    private protected override string SchemaVersionTableSql => """
        CREATE TABLE IF NOT EXISTS schema_version (
            version     integer PRIMARY KEY,
            description text NOT NULL,
            applied_at  timestamptz NOT NULL
        )
        """;

    private protected override IReadOnlyList<SchemaMigration> Migrations { get; } =
    [
        new(1, "jobs, epochs, checkpoints, logs, workers", """
            CREATE TABLE IF NOT EXISTS jobs (
                id               uuid PRIMARY KEY,
                kind             text NOT NULL CHECK (kind IN ('train', 'eval')),
                architecture     text NOT NULL,
                status           text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelling', 'cancelled', 'interrupted')),
                name             text,
                tags             jsonb NOT NULL,
                hyperparameters  jsonb NOT NULL,
                source           jsonb,
                idempotency_key  text,
                queue            text NOT NULL,
                created_at       timestamptz NOT NULL,
                started_at       timestamptz,
                finished_at      timestamptz,
                attempt          integer NOT NULL,
                lease_token      uuid,
                worker           text,
                device           text,
                heartbeat_at     timestamptz,
                cancel_requested boolean NOT NULL,
                progress         jsonb,
                result           jsonb,
                error            jsonb
            );
            -- NULLs are distinct: jobs without a key never conflict.
            CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency_key ON jobs (idempotency_key);
            -- Newest first, unfiltered and by each filter (scanned backwards); tags through GIN.
            CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at, id);
            CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs (status, created_at, id);
            CREATE INDEX IF NOT EXISTS jobs_architecture_created ON jobs (architecture, created_at, id);
            CREATE INDEX IF NOT EXISTS jobs_kind_created ON jobs (kind, created_at, id);
            CREATE INDEX IF NOT EXISTS jobs_tags ON jobs USING gin (tags jsonb_path_ops);

            CREATE TABLE IF NOT EXISTS job_epochs (
                job_id             uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                epoch              integer NOT NULL,
                train_loss         double precision NOT NULL,
                train_accuracy     double precision NOT NULL,
                test_loss          double precision NOT NULL,
                test_accuracy      double precision NOT NULL,
                learning_rate      double precision NOT NULL,
                epoch_seconds      double precision NOT NULL,
                samples_per_second double precision NOT NULL,
                recorded_at        timestamptz NOT NULL,
                PRIMARY KEY (job_id, epoch)
            );

            CREATE TABLE IF NOT EXISTS job_checkpoints (
                job_id     uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                epoch      integer NOT NULL,
                size_bytes bigint NOT NULL,
                sha256     text NOT NULL,
                metrics    jsonb,
                created_at timestamptz NOT NULL,
                PRIMARY KEY (job_id, epoch)
            );

            -- No foreign key: a batch of log events is never refused for one unknown job id.
            CREATE TABLE IF NOT EXISTS job_logs (
                sequence   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                job_id     uuid NOT NULL,
                logged_at  timestamptz NOT NULL,
                level      text NOT NULL,
                message    text NOT NULL,
                properties text
            );
            CREATE INDEX IF NOT EXISTS job_logs_job_sequence ON job_logs (job_id, sequence);

            CREATE TABLE IF NOT EXISTS workers (
                id             text PRIMARY KEY,
                host           text NOT NULL,
                queues         jsonb NOT NULL,
                device         text NOT NULL,
                running_job_id uuid,
                started_at     timestamptz NOT NULL,
                last_heartbeat timestamptz NOT NULL
            );
            CREATE INDEX IF NOT EXISTS workers_last_heartbeat ON workers (last_heartbeat);
            """),
        new(2, "job owners and API keys", """
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
            """),
        new(3, "dispatch outbox", """
            -- When the job was handed to the queue; NULL while it still has to be (see JobDispatchSweeper).
            ALTER TABLE jobs ADD COLUMN IF NOT EXISTS dispatched_at timestamptz;
            UPDATE jobs SET dispatched_at = created_at WHERE dispatched_at IS NULL;
            CREATE INDEX IF NOT EXISTS jobs_undispatched ON jobs (created_at, id) WHERE dispatched_at IS NULL;
            """),
        new(5, "sweeps", """
            CREATE TABLE IF NOT EXISTS sweeps (
                id               uuid PRIMARY KEY,
                name             text,
                tags             jsonb NOT NULL,
                base_job         jsonb NOT NULL,
                grid             jsonb NOT NULL,
                points           jsonb NOT NULL,
                point_count      integer NOT NULL,
                max_concurrent   integer NOT NULL,
                created_at       timestamptz NOT NULL,
                cancel_requested boolean NOT NULL,
                cancelled_at     timestamptz
            );
            CREATE INDEX IF NOT EXISTS sweeps_created ON sweeps (created_at, id);
            CREATE TABLE IF NOT EXISTS sweep_jobs (
                sweep_id uuid NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
                point    integer NOT NULL,
                job_id   uuid NOT NULL REFERENCES jobs (id),
                PRIMARY KEY (sweep_id, point)
            );
            """),
        new(6, "sweep owners", """
            -- Existing sweeps keep a NULL owner: created while authentication was off (or admin-only).
            ALTER TABLE sweeps ADD COLUMN IF NOT EXISTS owner text;
            -- An owner's sweeps newest first (listing).
            CREATE INDEX IF NOT EXISTS sweeps_owner_created ON sweeps (owner, created_at, id);
            """),
    ];

    private protected override ValueTask DisposeAsyncCore() => _dataSource.DisposeAsync();
}
