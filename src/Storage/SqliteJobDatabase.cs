using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using TrainingService.Contracts;
using TrainingService.Storage.Migrations;

namespace TrainingService.Storage;

/// <summary>
/// The stores' embedded database, a SQLite file: ids are text (lowercase, hyphenated), times integer
/// microseconds since the Unix epoch (UTC), JSON text. The file is in WAL mode, so readers never
/// wait for the writer; writers take turns, each waiting up to <see cref="BusyTimeoutMilliseconds"/>
/// for the lock (then retried by Microsoft.Data.Sqlite until the command timeout), which is why every
/// write is one statement in autocommit or a transaction that takes the lock at BEGIN (IMMEDIATE): no
/// transaction ever has to upgrade a read lock, the case SQLite answers with SQLITE_BUSY at once.
/// </summary>
public sealed class SqliteJobDatabase : JobDatabase
{
    public const int BusyTimeoutMilliseconds = 5000;

    private readonly string _connectionString;
    private readonly string _path;
    private volatile bool _walEnsured;

    /// <param name="path">The database file; its folder is created when missing.</param>
    public SqliteJobDatabase(string path)
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

    internal override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
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

    internal override ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // Serializable and not deferred: BEGIN IMMEDIATE, the write lock from the start.
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(IsolationLevel.Serializable, deferred: false));

    private protected override SchemaDialect Schema => new SqliteSchema(OpenConnectionAsync);

    internal override object Id(Guid id) => id.ToString("D");

    internal override object Time(DateTimeOffset time) => StoredTime.ToUnixMicroseconds(time);

    internal override object? Metric(double value) => double.IsNaN(value) ? null : value;

    internal override string Json(string parameter) => parameter;

    internal override string TagCondition(string parameter) =>
        $"EXISTS (SELECT 1 FROM json_each(jobs.tags) WHERE json_each.value = {parameter})";

    internal override string ShareLockClause => "";

    internal override string IndexHint(string index) => $" INDEXED BY {index}";

    private protected override ValueTask DisposeAsyncCore()
    {
        // Close this file's pooled connections (and so its WAL), leaving other databases' pools alone.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }
}
