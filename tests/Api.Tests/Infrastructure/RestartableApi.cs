using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrainingService.Contracts;
using TrainingService.Tests.Shared;

namespace TrainingService.Api.Tests.Infrastructure;

/// <summary>
/// One database that outlives the API hosts started on it, one after the other: what a test needs to
/// stop the API and start it again (a restart) on the same records, which the fixtures that own a host
/// for a whole test class cannot. Each host is the real API on Kestrel at a loopback port of its own.
/// </summary>
public sealed class RestartableApi : IAsyncDisposable
{
    private readonly string scratch = TestData.NewScratchDirectory();
    private readonly List<Host> hosts = [];
    private Dictionary<string, string?> storage = [];
    private string? adminConnectionString;
    private string? database;

    private RestartableApi()
    {
    }

    /// <summary>A fresh database: a SQLite file in a scratch folder, or a new database on the test PostgreSQL server.</summary>
    public static async Task<RestartableApi> CreateAsync(bool postgres)
    {
        var api = new RestartableApi();
        if (postgres)
        {
            api.adminConnectionString = await TestPostgresServer.ConnectionStringAsync();
            api.database = $"webhook_tests_{Guid.NewGuid():N}";
            await using var connection = new NpgsqlConnection(api.adminConnectionString);
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{api.database}\"", connection);
            await create.ExecuteNonQueryAsync();
            api.storage["Storage:PostgresConnectionString"] =
                new NpgsqlConnectionStringBuilder(api.adminConnectionString) { Database = api.database }.ConnectionString;
        }
        else
        {
            api.storage["Storage:SqlitePath"] = Path.Combine(api.scratch, "trainingservice.db");
            api.storage["Storage:PostgresConnectionString"] = "";
        }
        return api;
    }

    /// <summary>Where the records are, for a test that writes them while no API runs (as a worker would).</summary>
    public StorageOptions Storage => new()
    {
        PostgresConnectionString = storage["Storage:PostgresConnectionString"],
        SqlitePath = storage.GetValueOrDefault("Storage:SqlitePath") ?? new StorageOptions().SqlitePath,
    };

    /// <summary>Starts an API host with <paramref name="settings"/> on top of the storage's and the tests' defaults.</summary>
    public Host Start(IReadOnlyDictionary<string, string?> settings)
    {
        var all = new Dictionary<string, string?>(storage)
        {
            ["Checkpoints:Root"] = Path.Combine(scratch, "checkpoints"),
            ["Mnist:DataDirectory"] = TestData.MnistDirectory,
            ["Mnist:Download"] = "false",
            ["Auth:Enabled"] = "false",
            ["Limits:SubmissionsPerWindow"] = "1000000",
        };
        foreach (var (key, value) in settings)
            all[key] = value;
        var host = new Host(all);
        hosts.Add(host);
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in hosts)
            await host.DisposeAsync();
        if (adminConnectionString is not null && database is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(adminConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
        try
        {
            Directory.Delete(scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>One API process (as far as a test can tell): started at once, stopped by disposing it.</summary>
    public sealed class Host : WebApplicationFactory<Program>
    {
        private readonly IReadOnlyDictionary<string, string?> settings;

        internal Host(IReadOnlyDictionary<string, string?> settings)
        {
            this.settings = settings;
            UseKestrel(0);
            StartServer();
        }

        public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            foreach (var (key, value) in settings)
                builder.UseSetting(key, value);
        }
    }
}
