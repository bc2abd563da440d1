using DbUp.Builder;

namespace TrainingService.Storage.Migrations;

/// <summary>What a schema migration needs of one engine.</summary>
internal abstract class SchemaDialect
{
    /// <summary>DbUp's journal of applied scripts, the same table on both engines.</summary>
    public const string JournalTable = "schema_scripts";

    /// <summary>The suffix of this engine's own scripts (see <see cref="MigrationScripts"/>).</summary>
    public abstract string Name { get; }

    /// <summary>A query answering 1 when <c>schema_version</c>, the journal of the releases before DbUp, exists.</summary>
    public abstract string LegacyJournalExistsSql { get; }

    /// <summary>
    /// DbUp pointed at this database, with its journal in <see cref="JournalTable"/>, and the
    /// lock that makes concurrent migrations (the API and workers starting together) take turns,
    /// held until the session is disposed.
    /// </summary>
    public abstract Task<SchemaSession> OpenAsync(CancellationToken cancellationToken);
}

/// <summary>An upgrade's DbUp, and what ends it: the lock's release and the connections' closing.</summary>
internal sealed class SchemaSession(UpgradeEngineBuilder upgrade, Func<ValueTask> end) : IAsyncDisposable
{
    public UpgradeEngineBuilder Upgrade { get; } = upgrade;

    public ValueTask DisposeAsync() => end();
}
