using System.Data.Common;
using Dapper;
using Npgsql;
using TrainingService.Contracts;
using TrainingService.Storage.Migrations;

namespace TrainingService.Storage;

/// <summary>
/// The stores' database in PostgreSQL: ids are <c>uuid</c>, times <c>timestamptz</c>, JSON <c>jsonb</c>.
/// Statements run at READ COMMITTED, where a conditional UPDATE re-checks its condition against a
/// row a concurrent transaction changed, which is what makes each of them atomic.
/// </summary>
public sealed class PostgresJobDatabase : JobDatabase
{
    /// <summary>The first key of the advisory locks (two int keys) that serialise log appends per job: "TSLg".</summary>
    private const int LogLockNamespace = 0x54534C67;

    private readonly NpgsqlDataSource _dataSource;

    public PostgresJobDatabase(string connectionString)
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

    internal override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    internal override async ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(cancellationToken);

    internal override async Task LockJobLogsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Guid> jobIds, CancellationToken cancellationToken)
    {
        // An identity value is taken at insert but seen at commit: two concurrent appends to one job
        // could commit out of order, and a reader that paged past the later sequence would never see
        // the earlier one. Taken in key order, so two batches never wait on each other in a cycle.
        foreach (var key in jobIds.Select(LogLockKey).Distinct().Order())
        {
            await connection.ExecuteAsync(Command("SELECT pg_advisory_xact_lock(@Namespace, @Key)",
                new { Namespace = LogLockNamespace, Key = key }, transaction, cancellationToken));
        }
    }

    private static int LogLockKey(Guid jobId)
    {
        Span<byte> bytes = stackalloc byte[16];
        jobId.TryWriteBytes(bytes);
        return BitConverter.ToInt32(bytes[..4]) ^ BitConverter.ToInt32(bytes[4..8]) ^ BitConverter.ToInt32(bytes[8..12]) ^ BitConverter.ToInt32(bytes[12..]);
    }

    internal override IJobRowInsert JobRowInsert => new PostgresBulkJobInsert();

    private protected override SchemaDialect Schema => new PostgresSchema(_dataSource);

    internal override object Id(Guid id) => id;

    internal override object Time(DateTimeOffset time) => StoredTime.Truncate(time);

    internal override string Json(string parameter) => $"CAST({parameter} AS jsonb)";

    internal override string TagCondition(string parameter) => $"tags @> jsonb_build_array(CAST({parameter} AS text))";

    internal override string ShareLockClause => " FOR SHARE";

    internal override string SkipLockedClause => " FOR UPDATE SKIP LOCKED";

    private protected override ValueTask DisposeAsyncCore() => _dataSource.DisposeAsync();
}
