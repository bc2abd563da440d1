using TrainingService.Tests.Shared;
using Hangfire;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using TrainingService.Api.Jobs;
using TrainingService.Contracts;

namespace TrainingService.Api.Tests.Infrastructure;

/// <summary>
/// The real API (Program.cs and its composition) on an in-memory server (or on Kestrel, for a
/// fixture that calls <see cref="WebApplicationFactory{TEntryPoint}.UseKestrel(int)"/>), over a fresh database
/// of one backend, a temporary checkpoint root and the real MNIST files. No worker runs in it (the
/// API process has none):
/// tests write a job's progress through the stores (<see cref="IJobStore"/> and the rest) as a worker would.
/// </summary>
public abstract class ApiFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    private Dictionary<string, string?> settings = [];

    protected string Scratch { get; } = TestData.NewScratchDirectory();

    public string CheckpointRoot => Path.Combine(Scratch, "checkpoints");

    public IJobStore Store => Services.GetRequiredService<IJobStore>();

    public IEpochStore Epochs => Services.GetRequiredService<IEpochStore>();

    public ICheckpointIndex Checkpoints => Services.GetRequiredService<ICheckpointIndex>();

    public IJobLogStore Logs => Services.GetRequiredService<IJobLogStore>();

    public IWorkerRegistry Workers => Services.GetRequiredService<IWorkerRegistry>();

    public ISweepStore Sweeps => Services.GetRequiredService<ISweepStore>();

    public CheckpointOptions CheckpointOptions => Services.GetRequiredService<IOptions<CheckpointOptions>>().Value;

    /// <summary>
    /// Jobs waiting in the Hangfire queues (no worker takes them here): how tests see "nothing was
    /// enqueued". Counted once the outbox has tried every hand-over posted so far, which happens
    /// just after the submission's answer.
    /// </summary>
    public virtual long EnqueuedCount()
    {
        var outbox = Services.GetRequiredService<JobOutbox>();
        if (!SpinWait.SpinUntil(() => outbox.PendingHandOvers == 0, TimeSpan.FromMinutes(1)))
            throw new TimeoutException($"The outbox still had {outbox.PendingHandOvers} hand-overs pending after a minute.");
        var monitoring = Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        return new[] { "default", "cpu", "gpu" }.Sum(queue => monitoring.EnqueuedCount(queue));
    }

    /// <summary>
    /// Settings on top of the storage's. By default authentication is off (these fixtures use PostgreSQL,
    /// where it would be on) and the submission rate limit is out of reach, since every test of a
    /// fixture posts from the same (absent) client address; the security tests' fixtures override this.
    /// </summary>
    protected virtual IReadOnlyDictionary<string, string?> ServiceSettings { get; } = new Dictionary<string, string?>
    {
        ["Auth:Enabled"] = "false",
        ["Limits:SubmissionsPerWindow"] = "1000000",
    };

    /// <summary>Creates this backend's database and returns the settings that point the service at it.</summary>
    protected abstract Task<Dictionary<string, string?>> CreateStorageAsync();

    protected abstract Task DropStorageAsync();

    public async Task InitializeAsync()
    {
        settings = await CreateStorageAsync();
        settings["Checkpoints:Root"] = CheckpointRoot;
        settings["Mnist:DataDirectory"] = TestData.MnistDirectory;
        settings["Mnist:Download"] = "false";
        // Short enough that a test sees a keep-alive without waiting the production 15 s.
        settings["JobsApi:StreamKeepAliveInterval"] = "00:00:01";
        settings["JobsApi:StreamPollInterval"] = "00:00:00.250";
        // Sweeps get their next jobs within a blink of a slot coming free.
        settings["JobsApi:SweepSchedulerInterval"] = "00:00:00.200";
        foreach (var (key, value) in ServiceSettings)
            settings[key] = value;
        // Start the host now: its migrations run here, and a broken composition fails the fixture.
        StartServer();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in settings)
            builder.UseSetting(key, value);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await DropStorageAsync();
        try
        {
            Directory.Delete(Scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The embedded store: a SQLite file in the fixture's scratch folder.</summary>
public class SqliteApiFactory : ApiFactory
{
    protected override Task<Dictionary<string, string?>> CreateStorageAsync() =>
        Task.FromResult(new Dictionary<string, string?>
        {
            ["Storage:SqlitePath"] = Path.Combine(Scratch, "trainingservice.db"),
            ["Storage:PostgresConnectionString"] = "",
        });

    protected override Task DropStorageAsync() => Task.CompletedTask;
}

/// <summary>
/// PostgreSQL: a fresh database per fixture on the server named by
/// <c>TRAININGSERVICE_TEST_POSTGRES</c> (which <c>scripts/test.sh</c> starts and sets), dropped afterwards.
/// </summary>
public class PostgresApiFactory : ApiFactory
{
    private string? adminConnectionString;
    private string? database;

    protected override async Task<Dictionary<string, string?>> CreateStorageAsync()
    {
        // $TRAININGSERVICE_TEST_POSTGRES, or a Testcontainers server where Docker answers; else it throws saying how to get one.
        adminConnectionString = await TestPostgresServer.ConnectionStringAsync();

        database = $"api_tests_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(adminConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection);
            await create.ExecuteNonQueryAsync();
        }
        var connectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = database }.ConnectionString;
        return new Dictionary<string, string?> { ["Storage:PostgresConnectionString"] = connectionString };
    }

    protected override async Task DropStorageAsync()
    {
        if (adminConnectionString is null || database is null)
            return;
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
