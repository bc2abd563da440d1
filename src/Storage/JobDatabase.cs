using System.Data.Common;
using Dapper;
using TrainingService.Contracts;
using TrainingService.Storage.Migrations;

namespace TrainingService.Storage;

/// <summary>
/// One database the stores share — PostgreSQL (<see cref="PostgresJobDatabase"/>) or the embedded
/// SQLite file (<see cref="SqliteJobDatabase"/>) — and everything in which the two differ: how
/// connections and write transactions are opened, how ids, times and metrics are bound, the few SQL
/// expressions that are spelled differently, the locks, and how a batch of new jobs is inserted.
/// Every statement of the stores (<see cref="SqlJobStore"/> and its siblings) is written once, in
/// the SQL both engines accept (<c>INSERT ... ON CONFLICT</c>, <c>RETURNING</c>, row values,
/// <c>@name</c> parameters), and asks this class for the rest.
/// </summary>
/// <remarks>
/// Owns the connection pool: the stores built on it are plain objects, and disposing this ends them all.
/// </remarks>
public abstract class JobDatabase : IJobDatabase, IAsyncDisposable, IDisposable
{
    static JobDatabase() => StoredValues.Register();

    /// <summary>
    /// PostgreSQL when <see cref="StorageOptions.PostgresConnectionString"/> is set, else the SQLite file
    /// at <see cref="StorageOptions.SqlitePath"/>. Call <see cref="MigrateAsync(CancellationToken)"/> before use.
    /// </summary>
    public static JobDatabase Open(StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.UsesPostgres
            ? new PostgresJobDatabase(options.PostgresConnectionString!)
            : new SqliteJobDatabase(options.SqlitePath);
    }

    // ---- The database as a whole.

    public Task MigrateAsync(CancellationToken cancellationToken) => MigrateAsync(int.MaxValue, cancellationToken);

    /// <summary>
    /// Applies the migration scripts up to and including version <paramref name="throughVersion"/> only:
    /// how the tests make a database as an older release of the service left it, to migrate it from there.
    /// </summary>
    internal Task MigrateAsync(int throughVersion, CancellationToken cancellationToken) =>
        new SchemaMigrator(Schema).MigrateAsync(throughVersion, cancellationToken);

    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await ScalarAsync<long>("SELECT 1", null, cancellationToken) == 1;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    // ---- Connections and transactions.

    /// <summary>An open connection, set up for the stores.</summary>
    internal abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>A transaction that holds the write lock from its start where the engine has one (SQLite: BEGIN IMMEDIATE).</summary>
    internal abstract ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>
    /// Serialises appends to these jobs' logs until <paramref name="transaction"/> ends, so sequences
    /// become visible in increasing order and a reader paging by sequence never skips one.
    /// </summary>
    internal virtual Task LockJobLogsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Guid> jobIds, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>How a batch of new jobs is written: a statement per job, unless the engine has better (a new one each time: take it once).</summary>
    internal virtual IJobRowInsert JobRowInsert => new JobRowByRowInsert(this);

    /// <summary>What the schema migrations need of the engine: its scripts' suffix, DbUp set up for it, the lock.</summary>
    private protected abstract SchemaDialect Schema { get; }

    // ---- Values as parameters (what comes back is read by StoredValues' handlers).

    /// <summary>A job, sweep or key id as a parameter value.</summary>
    internal abstract object Id(Guid id);

    internal object? Id(Guid? id) => id is { } value ? Id(value) : null;

    /// <summary>A time as a parameter value: UTC, truncated to the microsecond (<see cref="StoredTime"/>).</summary>
    internal abstract object Time(DateTimeOffset time);

    internal object? Time(DateTimeOffset? time) => time is { } value ? Time(value) : null;

    /// <summary>A metric as a parameter value (SQLite refuses NaN: it binds NULL instead, read back as NaN).</summary>
    internal virtual object? Metric(double value) => value;

    // ---- SQL that is spelled differently.

    /// <summary>A parameter holding JSON text, as a value for a JSON column (PostgreSQL: cast to jsonb).</summary>
    internal abstract string Json(string parameter);

    /// <summary>A condition: the job's tags contain the string <paramref name="parameter"/>.</summary>
    internal abstract string TagCondition(string parameter);

    /// <summary>
    /// Appended to the lease check of a worker's INSERT: locks the job row against a concurrent new
    /// attempt until the write commits (PostgreSQL: <c>FOR SHARE</c>; SQLite writes are serial already).
    /// </summary>
    internal abstract string ShareLockClause { get; }

    /// <summary>
    /// Appended to a SELECT that picks rows to claim: skips rows another transaction is claiming
    /// rather than waiting for it (PostgreSQL: <c>FOR UPDATE SKIP LOCKED</c>; SQLite writes are serial already).
    /// </summary>
    internal virtual string SkipLockedClause => "";

    /// <summary>
    /// After a table's name in a FROM: reads it through <paramref name="index"/> (SQLite: <c>INDEXED BY</c>,
    /// for a small partial index that its planner, without statistics, passes over for a wider one that
    /// grows with every job; PostgreSQL picks it by itself).
    /// </summary>
    internal virtual string IndexHint(string index) => "";

    // ---- Statements on a connection of their own: what most store methods are.

    internal async Task<List<T>> QueryAsync<T>(string sql, object? parameters, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<T>(Command(sql, parameters, null, cancellationToken))).AsList();
    }

    internal async Task<T?> QueryFirstOrDefaultAsync<T>(string sql, object? parameters, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await connection.QueryFirstOrDefaultAsync<T>(Command(sql, parameters, null, cancellationToken));
    }

    internal async Task<T?> ScalarAsync<T>(string sql, object? parameters, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<T>(Command(sql, parameters, null, cancellationToken));
    }

    /// <summary>Runs one statement; returns the rows it changed.</summary>
    internal async Task<int> ExecuteAsync(string sql, object? parameters, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(Command(sql, parameters, null, cancellationToken));
    }

    /// <summary>Runs <paramref name="work"/> in one write transaction, committed when it returns.</summary>
    internal async Task<T> InWriteTransactionAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await BeginWriteTransactionAsync(connection, cancellationToken);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    internal static CommandDefinition Command(string sql, object? parameters, DbTransaction? transaction, CancellationToken cancellationToken) =>
        new(sql, parameters, transaction, cancellationToken: cancellationToken);

    // ---- Disposal.

    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return DisposeAsyncCore();
    }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        DisposeAsyncCore().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Releases the pooled connections.</summary>
    private protected abstract ValueTask DisposeAsyncCore();
}
