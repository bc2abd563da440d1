using DbUp.Engine;

namespace TrainingService.Storage.Migrations;

/// <summary>
/// Brings a database's schema up to date with DbUp: the engine's scripts (<see cref="MigrationScripts"/>)
/// not yet in its journal run in order, all in one transaction, under the engine's migration lock.
/// </summary>
internal sealed class SchemaMigrator(SchemaDialect dialect)
{
    /// <summary>Runs the scripts up to and including version <paramref name="throughVersion"/> that have not run yet.</summary>
    public async Task MigrateAsync(int throughVersion, CancellationToken cancellationToken)
    {
        var scripts = MigrationScripts.For(dialect.Name);
        cancellationToken.ThrowIfCancellationRequested();
        await using var session = await dialect.OpenAsync(cancellationToken);
        var upgrade = session.Upgrade
            .WithScripts(scripts.Where(s => s.Version <= throughVersion).Select(s => new SqlScript(s.Name, s.Sql)))
            // All or nothing: a failed script leaves the schema as it was. On SQLite the transaction
            // (BEGIN IMMEDIATE) is also what makes other processes wait.
            .WithTransaction()
            // '$' in the scripts is SQL (SQLite's JSON paths), never a DbUp variable.
            .WithVariablesDisabled()
            .LogToNowhere();
        // Seeded from the full list: a database an old release made has versions past throughVersion too.
        upgrade.Configure(c => c.Journal = new LegacyVersionJournal(c.Journal, () => c.ConnectionManager, dialect.LegacyJournalExistsSql, scripts));
        // DbUp has no asynchronous API; this runs once, as the process starts.
        var result = upgrade.Build().PerformUpgrade();
        if (!result.Successful)
            throw new InvalidOperationException(
                $"Migrating the schema failed{(result.ErrorScript is { } script ? $" in {script.Name}" : "")}: {result.Error.Message}", result.Error);
    }
}
