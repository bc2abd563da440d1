using Dapper;
using DbUp;
using DbUp.Postgresql;
using Npgsql;

namespace TrainingService.Storage.Migrations;

/// <summary>Migrations on PostgreSQL: DbUp on the store's data source, under an advisory lock.</summary>
internal sealed class PostgresSchema(NpgsqlDataSource dataSource) : SchemaDialect
{
    /// <summary>The advisory lock (one bigint key) that serialises migrations: "TSJobsMg", as before DbUp.</summary>
    private const long MigrationLockKey = 0x54534A6F62734D67;

    public override string Name => "postgresql";

    public override string LegacyJournalExistsSql => "SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN 0 ELSE 1 END";

    public override async Task<SchemaSession> OpenAsync(CancellationToken cancellationToken)
    {
        // The lock is taken on a connection of its own, in a transaction kept open while DbUp works
        // on another: concurrent CREATE TABLE IF NOT EXISTS can still fail on PostgreSQL's catalog, so
        // the other processes wait here and then find every script applied. It ends with that
        // transaction, or with the connection should the process die.
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@Key)",
                new { Key = MigrationLockKey }, transaction, cancellationToken: cancellationToken));
            var upgrade = DeployChanges.To.PostgresqlDatabase(new PostgresqlConnectionManager(dataSource))
                .JournalToPostgresqlTable(null, JournalTable);
            return new SchemaSession(upgrade, async () =>
            {
                await transaction.DisposeAsync();
                await connection.DisposeAsync();
            });
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
