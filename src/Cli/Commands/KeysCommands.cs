using System.CommandLine;
using TrainingService.Contracts;
using TrainingService.Contracts.Access;
using TrainingService.Storage;

namespace TrainingService.Cli.Commands;

/// <summary>
/// <c>trainingservice keys create|list|revoke</c>: the service's API keys, in the store the service
/// itself is configured with (<c>Storage__PostgresConnectionString</c>, else the embedded
/// <c>Storage__SqlitePath</c>). The key is printed once, on creation; only its SHA-256 is stored.
/// </summary>
internal static class KeysCommands
{
    public const string PostgresVariable = "Storage__PostgresConnectionString";
    public const string SqlitePathVariable = "Storage__SqlitePath";

    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "the owner of the key's jobs", Required = true };
        var admin = new Option<bool>("--admin") { Description = "an admin key: sees and cancels every job" };
        var create = new Command("create", "Make a key and print it once (only its SHA-256 is stored).") { name, admin };
        create.SetAction((parse, ct) => WithStoreAsync(async keys =>
        {
            (ApiKeyRecord Record, string Key) created;
            try
            {
                created = ApiKeys.Create(parse.GetRequiredValue(name), parse.GetValue(admin), DateTimeOffset.UtcNow);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--name: {e.Message}");
            }
            await keys.CreateApiKeyAsync(created.Record, ct);
            Console.Error.WriteLine($"created key {created.Record.Id:D} for '{created.Record.Name}'{(created.Record.IsAdmin ? " (admin)" : "")}. " +
                "It is shown once, below, and cannot be recovered: only its SHA-256 is stored.");
            Console.WriteLine(created.Key);
            return ExitCodes.Ok;
        }, ct));

        var list = new Command("list", "List every key (never the keys themselves).");
        list.SetAction((_, ct) => WithStoreAsync(async keys =>
        {
            Console.WriteLine($"{"id",-36}  {"name",-20}  {"admin",-5}  {"created (UTC)",-19}  revoked (UTC)");
            foreach (var key in await keys.ListApiKeysAsync(ct))
                Console.WriteLine($"{key.Id:D}  {key.Name,-20}  {(key.IsAdmin ? "yes" : "no"),-5}  {key.CreatedAt:yyyy-MM-dd HH:mm:ss}  " +
                    (key.RevokedAt is { } revoked ? $"{revoked:yyyy-MM-dd HH:mm:ss}" : "-"));
            return ExitCodes.Ok;
        }, ct));

        var id = new Option<Guid>("--id") { Description = "the key's id, as keys list shows it", Required = true };
        var revoke = new Command("revoke", "Revoke a key from now on.") { id };
        revoke.SetAction((parse, ct) => WithStoreAsync(async keys =>
        {
            var keyId = parse.GetRequiredValue(id);
            if (!await keys.RevokeApiKeyAsync(keyId, DateTimeOffset.UtcNow, ct))
            {
                Console.WriteLine($"no active key {keyId:D}: it does not exist or is already revoked");
                return ExitCodes.JobFailed;
            }
            Console.WriteLine($"revoked key {keyId:D}");
            return ExitCodes.Ok;
        }, ct));

        return new Command("keys", $"The service's API keys, in its store (${PostgresVariable}, else ${SqlitePathVariable}).") { create, list, revoke };
    }

    private static async Task<int> WithStoreAsync(Func<IApiKeyStore, Task<int>> command, CancellationToken cancellationToken)
    {
        var storage = new StorageOptions
        {
            PostgresConnectionString = Environment.GetEnvironmentVariable(PostgresVariable),
            SqlitePath = Environment.GetEnvironmentVariable(SqlitePathVariable) is { Length: > 0 } path ? path : new StorageOptions().SqlitePath,
        };
        await using var database = JobDatabase.Open(storage);
        // The same migrations the service runs: keys can be made before its first start.
        await database.MigrateAsync(cancellationToken);
        Console.Error.WriteLine(storage.UsesPostgres
            ? "keys: using PostgreSQL (Storage__PostgresConnectionString)"
            : $"keys: using the embedded store {Path.GetFullPath(storage.SqlitePath)}");
        return await command(new SqlApiKeyStore(database));
    }
}
