using TrainingService.Contracts;
using TrainingService.Storage;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;

namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>
/// The API on a fresh PostgreSQL database with no worker anywhere (the API process runs none):
/// submitted jobs are stored and queued, and nothing runs them. The latency scenarios share it;
/// jobs they need in a given state (running, with epochs) they write through the store directly,
/// as a worker would. Disposing kills the API and drops the database.
/// </summary>
internal sealed class QueueOnlyService : IAsyncDisposable
{
    private const string WorkerName = "servicebench";

    private readonly BenchDatabase database;
    private readonly string workDirectory;
    private readonly ServiceProcess api;
    // The same database the API reads, for seeding jobs and epochs as a worker would write them.
    private readonly JobDatabase jobDatabase;
    private readonly IJobStore store;
    private readonly IEpochStore epochs;

    private QueueOnlyService(BenchDatabase database, string workDirectory, ServiceProcess api, Uri baseAddress, JobDatabase jobDatabase)
    {
        this.database = database;
        this.workDirectory = workDirectory;
        this.api = api;
        BaseAddress = baseAddress;
        this.jobDatabase = jobDatabase;
        store = new SqlJobStore(jobDatabase);
        epochs = new SqlEpochStore(jobDatabase);
    }

    public Uri BaseAddress { get; }

    public string ConnectionString => database.ConnectionString;

    public ServiceProcess Api => api;

    public static async Task<QueueOnlyService> StartAsync(PostgresServer server, CancellationToken cancellationToken)
    {
        var database = await server.CreateDatabaseAsync("latency", cancellationToken);
        var workDirectory = Directory.CreateTempSubdirectory("servicebench-latency-").FullName;
        ServiceProcess? api = null;
        try
        {
            var port = ServiceProcess.FreeLoopbackPort();
            api = ServiceProcess.Start("API (PostgreSQL, no worker)", RepositoryPaths.ApiDll, workDirectory, new Dictionary<string, string>
            {
                ["Storage__PostgresConnectionString"] = database.ConnectionString,
                // The bench sends no API key; authentication is on by default with PostgreSQL.
                ["Auth__Enabled"] = "false",
                // Every request comes from one address; the bursts are load, not abuse.
                ["Limits__SubmissionsPerWindow"] = "1000000",
                ["Checkpoints__Root"] = Path.Combine(workDirectory, "checkpoints"),
            }, "--urls", $"http://127.0.0.1:{port}");
            var baseAddress = new Uri($"http://127.0.0.1:{port}");
            using (var http = ServiceClient.Create(baseAddress, 4))
                await ServiceClient.WaitUntilReadyAsync(http, api, TimeSpan.FromSeconds(120), cancellationToken);

            // The API has created the schema by now; migrating again is a no-op that proves it.
            var jobDatabase = JobDatabase.Open(new StorageOptions { PostgresConnectionString = database.ConnectionString });
            await jobDatabase.MigrateAsync(cancellationToken);
            return new QueueOnlyService(database, workDirectory, api, baseAddress, jobDatabase);
        }
        catch
        {
            if (api is not null)
                await api.DisposeAsync();
            await database.DisposeAsync();
            TryDelete(workDirectory);
            throw;
        }
    }

    /// <summary>
    /// A convnet training job of <paramref name="epochs"/> epochs, stored and started the way a
    /// worker starts one (a first attempt under a fresh lease), but never queued: the benchmark
    /// itself plays the worker and writes its epochs with the returned lease.
    /// </summary>
    public async Task<(Guid Id, Guid Lease)> CreateRunningJobAsync(string name, int epochs, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        // PostgreSQL keeps microseconds; the API cuts its own creation times the same way.
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
        var job = new JobRecord
        {
            Id = Guid.CreateVersion7(now),
            Kind = JobKind.Train,
            Architecture = ArchitectureCatalog.ConvNetName,
            Name = name,
            Tags = ["servicebench"],
            Hyperparameters = ArchitectureCatalog.ConvNet.Defaults with { Epochs = epochs, Device = "cpu" },
            Queue = "cpu",
            CreatedAt = now,
        };
        var (stored, created) = await store.CreateAsync(job, cancellationToken);
        if (!created)
            throw new InvalidOperationException($"job {job.Id} already existed");
        var lease = Guid.NewGuid();
        _ = await store.TryStartAttemptAsync(stored.Id, lease, WorkerName, "cpu", now, now - TimeSpan.FromMinutes(1), cancellationToken)
            ?? throw new InvalidOperationException($"job {stored.Id} could not be started");
        return (stored.Id, lease);
    }

    /// <summary>Plausible metrics for epoch <paramref name="epoch"/>; their values are not the point, their delivery is.</summary>
    public static EpochMetrics Metrics(int epoch) => new(
        Epoch: epoch,
        TrainLoss: 0.3 / epoch,
        TrainAccuracy: 1 - 0.05 / epoch,
        TestLoss: 0.05 / epoch,
        TestAccuracy: 1 - 0.02 / epoch,
        LearningRate: 0.002,
        EpochSeconds: 27.5,
        SamplesPerSecond: 2500);

    public async Task RecordEpochAsync(Guid id, Guid lease, int epoch, CancellationToken cancellationToken)
    {
        if (await epochs.RecordEpochAsync(id, lease, Metrics(epoch), new EpochTraining(1, 0, 469, []), DateTimeOffset.UtcNow, cancellationToken) == EpochWrite.LeaseLost)
            throw new InvalidOperationException($"the store refused epoch {epoch} of job {id}: lease lost");
    }

    public async Task SucceedAsync(Guid id, Guid lease, int epochs, CancellationToken cancellationToken)
    {
        var last = Metrics(epochs);
        var result = new JobResult(last.TestAccuracy, last.TestLoss, last.TestAccuracy, last.TestLoss, epochs, null, null);
        if (!await store.FinishAttemptAsync(id, lease, JobStatus.Succeeded, TerminationReason.Succeeded, result, null, DateTimeOffset.UtcNow, cancellationToken))
            throw new InvalidOperationException($"the store refused to finish job {id}: lease lost");
    }

    public async ValueTask DisposeAsync()
    {
        await api.DisposeAsync();
        await jobDatabase.DisposeAsync();
        await database.DisposeAsync();
        TryDelete(workDirectory);
    }

    internal static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"warning: could not delete {directory}: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            Console.Error.WriteLine($"warning: could not delete {directory}: {e.Message}");
        }
    }
}
