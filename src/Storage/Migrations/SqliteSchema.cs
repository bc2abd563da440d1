using System.Data.Common;
using DbUp;
using DbUp.Sqlite.Helpers;

namespace TrainingService.Storage.Migrations;

/// <summary>Migrations on the SQLite file: DbUp on one of the store's connections (busy timeout and WAL set).</summary>
internal sealed class SqliteSchema(Func<CancellationToken, ValueTask<DbConnection>> openConnection) : SchemaDialect
{
    public override string Name => "sqlite";

    public override string LegacyJournalExistsSql => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'";

    public override async Task<SchemaSession> OpenAsync(CancellationToken cancellationToken)
    {
        // No lock of its own: DbUp's transaction begins with BEGIN IMMEDIATE (Microsoft.Data.Sqlite's
        // default for a transaction), which takes the file's write lock before the journal is read,
        // so a second process waits for the first to commit and then finds every script applied.
        var connection = await openConnection(cancellationToken);
        var upgrade = DeployChanges.To.SqliteDatabase(new SharedConnection(connection)).JournalToSqliteTable(JournalTable);
        return new SchemaSession(upgrade, connection.DisposeAsync);
    }
}
