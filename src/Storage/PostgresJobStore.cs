using System.Buffers;
using System.Data.Common;
using System.Text;
using System.Text.Json;
using Dapper;
using Npgsql;
using TrainingService.Contracts;

namespace TrainingService.Storage;

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
        _dataSource = NpgsqlDataSource.Create(WithStoreDefaults(connectionString));
    }

    /// <summary>Connections per process unless the connection string names its own <c>Maximum Pool Size</c>.</summary>
    public const int DefaultMaxPoolSize = 16;

    /// <summary>
    /// Npgsql's defaults suit applications with long and varied sessions; the store's sessions are
    /// short and run the same few statements. So, where the connection string does not say
    /// otherwise: at most <see cref="DefaultMaxPoolSize"/> connections per process (Npgsql's 100 let
    /// a burst of 200 submissions open a server process each, and the database's cores then spent
    /// the burst switching between them: p99 three times longer on 2 cores; the requests now wait
    /// for a connection inside the process, which costs nothing); statements prepared once per
    /// connection rather than parsed and planned on every call; and no <c>DISCARD ALL</c> when a
    /// connection goes back to the pool, since the store keeps no session state (its advisory locks
    /// end with their transactions).
    /// </summary>
    public static string WithStoreDefaults(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // What the string itself names, in any of Npgsql's spellings ("Maximum Pool Size", "maxpoolsize").
        var named = new DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>()
            .Select(key => key.Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant()).ToHashSet();
        if (!named.Contains("maximumpoolsize") && !named.Contains("maxpoolsize"))
            builder.MaxPoolSize = Math.Max(DefaultMaxPoolSize, builder.MinPoolSize);
        if (!named.Contains("maxautoprepare"))
            builder.MaxAutoPrepare = 32;
        if (!named.Contains("noresetonclose"))
            builder.NoResetOnClose = true;
        return builder.ConnectionString;
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

    /// <summary>
    /// One statement for the whole batch: the rows travel as one JSON array, so the statement's
    /// text is the same whatever their number and the connection's prepared copy serves every batch.
    /// </summary>
    private protected override async Task<IReadOnlyList<JobRecord>> InsertNewJobsAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken)
    {
        const string sql = $"""
            INSERT INTO jobs ({JobColumns})
            SELECT {JobColumns} FROM jsonb_to_recordset(CAST(@Rows AS jsonb)) AS r(
                id uuid, kind text, architecture text, status text, name text, tags jsonb, hyperparameters jsonb,
                source jsonb, idempotency_key text, queue text, created_at timestamptz, started_at timestamptz,
                finished_at timestamptz, attempt integer, lease_token uuid, worker text, device text,
                heartbeat_at timestamptz, cancel_requested boolean, progress jsonb, result jsonb, error jsonb, owner text)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING {JobColumns}
            """;
        return await QueryJobsAsync(connection, sql, new { Rows = JobRows(jobs) }, cancellationToken, transaction);
    }

    /// <summary>The jobs as a JSON array of objects keyed by column: JSON columns as JSON, times as ISO 8601 to the microsecond.</summary>
    private static string JobRows(IReadOnlyList<JobRecord> jobs)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var job in jobs)
            {
                json.WriteStartObject();
                json.WriteString("id", job.Id);
                json.WriteString("kind", Text(job.Kind));
                json.WriteString("architecture", job.Architecture);
                json.WriteString("status", Text(job.Status));
                json.WriteString("name", job.Name);
                WriteJson(json, "tags", Json(job.Tags));
                WriteJson(json, "hyperparameters", Json(job.Hyperparameters));
                WriteJson(json, "source", Json(job.Source));
                json.WriteString("idempotency_key", job.IdempotencyKey);
                json.WriteString("queue", job.Queue);
                WriteTime(json, "created_at", job.CreatedAt);
                WriteTime(json, "started_at", job.StartedAt);
                WriteTime(json, "finished_at", job.FinishedAt);
                json.WriteNumber("attempt", job.Attempt);
                if (job.LeaseToken is { } lease) json.WriteString("lease_token", lease); else json.WriteNull("lease_token");
                json.WriteString("worker", job.Worker);
                json.WriteString("device", job.Device);
                WriteTime(json, "heartbeat_at", job.HeartbeatAt);
                json.WriteBoolean("cancel_requested", job.CancelRequested);
                WriteJson(json, "progress", Json(job.Progress));
                WriteJson(json, "result", Json(job.Result));
                WriteJson(json, "error", Json(job.Error));
                json.WriteString("owner", job.Owner);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);

        static void WriteJson(Utf8JsonWriter json, string name, string? value)
        {
            json.WritePropertyName(name);
            if (value is null) json.WriteNullValue(); else json.WriteRawValue(value, skipInputValidation: true);
        }

        static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? time)
        {
            if (time is { } value) json.WriteString(name, StoredTime.Truncate(value)); else json.WriteNull(name);
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
