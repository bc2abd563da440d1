namespace TrainingService.Contracts;

/// <summary>The database behind the stores, as a whole: its schema, and whether it answers.</summary>
public interface IJobDatabase
{
    /// <summary>
    /// Creates or upgrades the schema. Safe to call from every process at start, at the same time:
    /// the processes take turns, and each finds the work of those before it done.
    /// </summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>True when the database answers.</summary>
    Task<bool> PingAsync(CancellationToken cancellationToken);
}
