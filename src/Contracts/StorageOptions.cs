namespace TrainingService.Contracts;

/// <summary>
/// Where job records live. With a PostgreSQL connection string the service uses PostgreSQL (and
/// Hangfire's PostgreSQL storage); without one it runs on the embedded store, a SQLite file.
/// Bound from the <c>Storage</c> section: <c>Storage__PostgresConnectionString</c>, <c>Storage__SqlitePath</c>.
/// </summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>An Npgsql connection string; empty selects the embedded SQLite store.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>The embedded store's database file.</summary>
    public string SqlitePath { get; set; } = "./data/trainingservice.db";

    public bool UsesPostgres => !string.IsNullOrWhiteSpace(PostgresConnectionString);
}
