using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary>Picks the store <see cref="StorageOptions"/> describe.</summary>
public static class JobStoreFactory
{
    /// <summary>
    /// PostgreSQL when <see cref="StorageOptions.PostgresConnectionString"/> is set, else the SQLite
    /// file at <see cref="StorageOptions.SqlitePath"/>. The store owns pooled connections and is
    /// <see cref="IAsyncDisposable"/> (a DI container disposes it). Call <see cref="IJobStore.MigrateAsync"/> before use.
    /// </summary>
    public static IJobStore Create(StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.UsesPostgres
            ? new PostgresJobStore(options.PostgresConnectionString!)
            : new SqliteJobStore(options.SqlitePath);
    }
}
