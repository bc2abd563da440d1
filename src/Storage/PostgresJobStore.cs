using System.Buffers;
using System.Data.Common;
using System.Text;
using System.Text.Json;
using Dapper;
using Npgsql;
using TrainingService.Contracts;
using TrainingService.Storage.Migrations;

namespace TrainingService.Storage;

/// <summary>
/// The job store in PostgreSQL: ids are <c>uuid</c>, times <c>timestamptz</c>, JSON <c>jsonb</c>.
/// Statements run at READ COMMITTED, where a conditional UPDATE re-checks its condition against a
/// row a concurrent transaction changed, which is what makes each of them atomic.
/// </summary>
public sealed class PostgresJobStore : SqlJobStore
{
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

    private protected override SchemaDialect Schema => new PostgresSchema(_dataSource);

    private protected override ValueTask DisposeAsyncCore() => _dataSource.DisposeAsync();
}
