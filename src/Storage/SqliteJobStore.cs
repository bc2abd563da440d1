using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary>
/// The embedded job store, a SQLite file: ids are text (lowercase, hyphenated), times integer
/// microseconds since the Unix epoch (UTC), JSON text. The file is in WAL mode, so readers never
/// wait for the writer; writers take turns, each waiting up to <see cref="BusyTimeoutMilliseconds"/>
/// for the lock (then retried by Microsoft.Data.Sqlite until the command timeout), which is why every
/// write is one statement in autocommit or a transaction that takes the lock at BEGIN (IMMEDIATE): no
/// transaction ever has to upgrade a read lock, the case SQLite answers with SQLITE_BUSY at once.
/// </summary>
public sealed class SqliteJobStore : SqlJobStore
{
    public const int BusyTimeoutMilliseconds = 5000;

    private readonly string _connectionString;
    private readonly string _path;
    private volatile bool _walEnsured;

    /// <param name="path">The database file; its folder is created when missing.</param>
    public SqliteJobStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _path = Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>The database file, as a full path.</summary>
    public string DatabasePath => _path;

    private protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        if (!_walEnsured && Path.GetDirectoryName(_path) is { Length: > 0 } folder)
            Directory.CreateDirectory(folder);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            // Per connection (a pooled one keeps them, and setting them again costs nothing): wait for
            // the write lock rather than fail, and in WAL mode sync at checkpoints only, which keeps the
            // database consistent on power loss but may lose the last commits.
            await ExecuteAsync(connection, $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds}; PRAGMA synchronous = NORMAL;", cancellationToken);
            if (!_walEnsured)
            {
                // Stored in the file: once set it holds for every connection, in every process.
                await ExecuteAsync(connection, "PRAGMA journal_mode = WAL;", cancellationToken);
                _walEnsured = true;
            }
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private protected override ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // Serializable and not deferred: BEGIN IMMEDIATE, the write lock from the start.
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(IsolationLevel.Serializable, deferred: false));

    private protected override Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        // BEGIN IMMEDIATE already excludes every other writer, in every process.
        Task.CompletedTask;

    private protected override object DbId(Guid id) => id.ToString("D");

    private protected override object DbTime(DateTimeOffset time) => StoredTime.ToUnixMicroseconds(time);

    private protected override object? DbDouble(double value) => double.IsNaN(value) ? null : value;

    private protected override string JsonParameter(string parameter) => parameter;

    private protected override string TagCondition(string parameter) =>
        $"EXISTS (SELECT 1 FROM json_each(jobs.tags) WHERE json_each.value = {parameter})";

    private protected override string ShareLockClause => "";

    private protected override string SchemaVersionTableSql => """
        CREATE TABLE IF NOT EXISTS schema_version (
            version     INTEGER PRIMARY KEY NOT NULL,
            description TEXT NOT NULL,
            applied_at  INTEGER NOT NULL
        )
        """;

    private protected override IReadOnlyList<SchemaMigration> Migrations { get; } =
    [
        new(1, "jobs, epochs, checkpoints, logs, workers", """
            CREATE TABLE IF NOT EXISTS jobs (
                id               TEXT PRIMARY KEY NOT NULL,
                kind             TEXT NOT NULL CHECK (kind IN ('train', 'eval')),
                architecture     TEXT NOT NULL,
                status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelling', 'cancelled', 'interrupted')),
                name             TEXT,
                tags             TEXT NOT NULL,
                hyperparameters  TEXT NOT NULL,
                source           TEXT,
                idempotency_key  TEXT,
                queue            TEXT NOT NULL,
                created_at       INTEGER NOT NULL,
                started_at       INTEGER,
                finished_at      INTEGER,
                attempt          INTEGER NOT NULL,
                lease_token      TEXT,
                worker           TEXT,
                device           TEXT,
                heartbeat_at     INTEGER,
                cancel_requested INTEGER NOT NULL,
                progress         TEXT,
                result           TEXT,
                error            TEXT
            );
            -- NULLs are distinct: jobs without a key never conflict.
            CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency_key ON jobs (idempotency_key);
            -- Newest first, unfiltered and by each filter (scanned backwards); a tag filter scans.
            CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at, id);
            CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs (status, created_at, id);
            CREATE INDEX IF NOT EXISTS jobs_architecture_created ON jobs (architecture, created_at, id);
            CREATE INDEX IF NOT EXISTS jobs_kind_created ON jobs (kind, created_at, id);

            -- Metrics are nullable: SQLite has no NaN, so the store keeps one as NULL and reads it back as NaN.
            CREATE TABLE IF NOT EXISTS job_epochs (
                job_id             TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                epoch              INTEGER NOT NULL,
                train_loss         REAL,
                train_accuracy     REAL,
                test_loss          REAL,
                test_accuracy      REAL,
                learning_rate      REAL,
                epoch_seconds      REAL,
                samples_per_second REAL,
                recorded_at        INTEGER NOT NULL,
                PRIMARY KEY (job_id, epoch)
            ) WITHOUT ROWID;

            CREATE TABLE IF NOT EXISTS job_checkpoints (
                job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                epoch      INTEGER NOT NULL,
                size_bytes INTEGER NOT NULL,
                sha256     TEXT NOT NULL,
                metrics    TEXT,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (job_id, epoch)
            ) WITHOUT ROWID;

            -- No foreign key: a batch of log events is never refused for one unknown job id.
            -- AUTOINCREMENT: sequences only ever increase, never reused.
            CREATE TABLE IF NOT EXISTS job_logs (
                sequence   INTEGER PRIMARY KEY AUTOINCREMENT,
                job_id     TEXT NOT NULL,
                logged_at  INTEGER NOT NULL,
                level      TEXT NOT NULL,
                message    TEXT NOT NULL,
                properties TEXT
            );
            CREATE INDEX IF NOT EXISTS job_logs_job_sequence ON job_logs (job_id, sequence);

            CREATE TABLE IF NOT EXISTS workers (
                id             TEXT PRIMARY KEY NOT NULL,
                host           TEXT NOT NULL,
                queues         TEXT NOT NULL,
                device         TEXT NOT NULL,
                running_job_id TEXT,
                started_at     INTEGER NOT NULL,
                last_heartbeat INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS workers_last_heartbeat ON workers (last_heartbeat);
            """),
        // SQLite has no ADD COLUMN IF NOT EXISTS; the version check (in the same write transaction) runs it once.
        new(2, "job owners and API keys", """
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
            """),
        new(3, "dispatch outbox", """
            -- When the job was handed to the queue; NULL while it still has to be (see JobDispatchSweeper).
            ALTER TABLE jobs ADD COLUMN dispatched_at INTEGER;
            UPDATE jobs SET dispatched_at = created_at WHERE dispatched_at IS NULL;
            CREATE INDEX IF NOT EXISTS jobs_undispatched ON jobs (created_at, id) WHERE dispatched_at IS NULL;
            """),
        new(5, "sweeps", """
            CREATE TABLE IF NOT EXISTS sweeps (
                id               TEXT PRIMARY KEY NOT NULL,
                name             TEXT,
                tags             TEXT NOT NULL,
                base_job         TEXT NOT NULL,
                grid             TEXT NOT NULL,
                points           TEXT NOT NULL,
                point_count      INTEGER NOT NULL,
                max_concurrent   INTEGER NOT NULL,
                created_at       INTEGER NOT NULL,
                cancel_requested INTEGER NOT NULL,
                cancelled_at     INTEGER
            );
            CREATE INDEX IF NOT EXISTS sweeps_created ON sweeps (created_at, id);
            CREATE TABLE IF NOT EXISTS sweep_jobs (
                sweep_id TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
                point    INTEGER NOT NULL,
                job_id   TEXT NOT NULL REFERENCES jobs (id),
                PRIMARY KEY (sweep_id, point)
            );
            """),
        new(6, "sweep owners", """
            -- Existing sweeps keep a NULL owner: created while authentication was off (or admin-only).
            ALTER TABLE sweeps ADD COLUMN owner TEXT;
            -- An owner's sweeps newest first (listing).
            CREATE INDEX IF NOT EXISTS sweeps_owner_created ON sweeps (owner, created_at, id);
            """),
    ];

    private protected override ValueTask DisposeAsyncCore()
    {
        // Close this file's pooled connections (and so its WAL), leaving other databases' pools alone.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }
}
