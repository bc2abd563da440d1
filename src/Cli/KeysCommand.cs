using TrainingService.Contracts;
using TrainingService.Contracts.Access;
using TrainingService.Storage;

namespace TrainingService.Cli;

/// <summary>
/// <c>trainingservice keys create|list|revoke</c>: the service's API keys, in the store the service
/// itself is configured with (<c>Storage__PostgresConnectionString</c>, else the embedded
/// <c>Storage__SqlitePath</c>). The key is printed once, on creation; only its SHA-256 is stored.
/// </summary>
internal static class KeysCommand
{
    public const string PostgresVariable = "Storage__PostgresConnectionString";
    public const string SqlitePathVariable = "Storage__SqlitePath";

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter log, CancellationToken cancellationToken)
    {
        if (args.Count == 0)
            throw new UsageException("keys needs a subcommand: create, list or revoke.");
        var flags = TrainCommand.ParseFlags(args.Skip(1).ToList());
        var storage = new StorageOptions
        {
            PostgresConnectionString = Environment.GetEnvironmentVariable(PostgresVariable),
            SqlitePath = Environment.GetEnvironmentVariable(SqlitePathVariable) is { Length: > 0 } path ? path : new StorageOptions().SqlitePath,
        };

        Func<IApiKeyStore, Task<int>> command = args[0] switch
        {
            "create" => CreateCommand(flags, output, log, cancellationToken),
            "list" => NoFlags(flags, keys => ListAsync(keys, output, cancellationToken)),
            "revoke" => RevokeCommand(flags, output, cancellationToken),
            var other => throw new UsageException($"Unknown keys subcommand '{other}'; use create, list or revoke."),
        };

        await using var database = JobDatabase.Open(storage);
        // The same migrations the service runs: keys can be made before its first start.
        await database.MigrateAsync(cancellationToken);
        log.WriteLine(storage.UsesPostgres
            ? "keys: using PostgreSQL (Storage__PostgresConnectionString)"
            : $"keys: using the embedded store {Path.GetFullPath(storage.SqlitePath)}");
        return await command(new SqlApiKeyStore(database));
    }

    private static Func<IApiKeyStore, Task<int>> CreateCommand(Dictionary<string, string?> flags, TextWriter output, TextWriter log, CancellationToken cancellationToken)
    {
        var name = flags.Remove("name", out var n) && !string.IsNullOrWhiteSpace(n) ? n : throw new UsageException("keys create needs --name NAME (the owner of the key's jobs).");
        var admin = false;
        if (flags.Remove("admin", out var adminValue))
            admin = adminValue is null ? true : throw new UsageException("--admin takes no value.");
        return NoFlags(flags, async keys =>
        {
            (ApiKeyRecord Record, string Key) created;
            try
            {
                created = ApiKeys.Create(name, admin, DateTimeOffset.UtcNow);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--name: {e.Message}");
            }
            await keys.CreateApiKeyAsync(created.Record, cancellationToken);
            log.WriteLine($"created key {created.Record.Id:D} for '{created.Record.Name}'{(admin ? " (admin)" : "")}. " +
                "It is shown once, below, and cannot be recovered: only its SHA-256 is stored.");
            output.WriteLine(created.Key);
            return 0;
        });
    }

    private static Func<IApiKeyStore, Task<int>> RevokeCommand(Dictionary<string, string?> flags, TextWriter output, CancellationToken cancellationToken)
    {
        var id = flags.Remove("id", out var value) && Guid.TryParse(value, out var parsed)
            ? parsed
            : throw new UsageException("keys revoke needs --id KEY-ID (as keys list shows it).");
        return NoFlags(flags, async keys =>
        {
            if (!await keys.RevokeApiKeyAsync(id, DateTimeOffset.UtcNow, cancellationToken))
            {
                output.WriteLine($"no active key {id:D}: it does not exist or is already revoked");
                return 1;
            }
            output.WriteLine($"revoked key {id:D}");
            return 0;
        });
    }

    private static async Task<int> ListAsync(IApiKeyStore keys, TextWriter output, CancellationToken cancellationToken)
    {
        output.WriteLine($"{"id",-36}  {"name",-20}  {"admin",-5}  {"created (UTC)",-19}  revoked (UTC)");
        foreach (var key in await keys.ListApiKeysAsync(cancellationToken))
        {
            output.WriteLine($"{key.Id:D}  {key.Name,-20}  {(key.IsAdmin ? "yes" : "no"),-5}  {key.CreatedAt:yyyy-MM-dd HH:mm:ss}  " +
                (key.RevokedAt is { } revoked ? $"{revoked:yyyy-MM-dd HH:mm:ss}" : "-"));
        }
        return 0;
    }

    private static Func<IApiKeyStore, Task<int>> NoFlags(Dictionary<string, string?> flags, Func<IApiKeyStore, Task<int>> command) =>
        flags.Count > 0 ? throw new UsageException($"Unknown option --{flags.Keys.First()}.") : command;
}
