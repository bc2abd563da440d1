using TrainingService.Api.Jobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TrainingService.Contracts;
using TrainingService.Contracts.Datasets;
using TrainingService.Storage;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using TrainingService.Worker.Hosting;

namespace TrainingService.Worker.Tests;

/// <summary>
/// A real job store (a SQLite file), real MNIST and a real checkpoint folder, with the runner and
/// the reaper built on them. The queue is the one thing replaced: <see cref="Dispatched"/> records
/// what would have been handed to Hangfire, so tests can see re-dispatches.
/// </summary>
public sealed class WorkerFixture : IAsyncLifetime, IJobDispatcher
{
    private readonly string folder = Directory.CreateTempSubdirectory("trainingservice-worker-tests-").FullName;

    /// <summary>The SQLite file the stores below share.</summary>
    public SqliteJobDatabase Database { get; }
    public IJobStore Store { get; }
    public IEpochStore Epochs { get; }
    public ICheckpointIndex CheckpointIndex { get; }
    public IJobAttemptLog Attempts { get; }
    public List<Guid> Dispatched { get; } = [];
    public CheckpointOptions Checkpoints { get; }
    public WorkerOptions Options { get; } = new()
    {
        HeartbeatInterval = TimeSpan.FromMilliseconds(200),
        CancellationPollInterval = TimeSpan.FromMilliseconds(100),
        StaleAfter = TimeSpan.FromSeconds(30),
        MaxAttempts = 2,
        Name = "test-worker",
    };
    public IDatasetStore Datasets { get; }
    public DatasetCache Data { get; }

    public WorkerFixture()
    {
        Database = new SqliteJobDatabase(Path.Combine(folder, "jobs.db"));
        Store = new SqlJobStore(Database);
        Epochs = new SqlEpochStore(Database);
        CheckpointIndex = new SqlCheckpointIndex(Database);
        Attempts = new SqlJobAttemptLog(Database);
        Checkpoints = new CheckpointOptions { Root = Path.Combine(folder, "checkpoints") };
        Datasets = new SqlDatasetStore(Database);
        Data = new DatasetCache(Microsoft.Extensions.Options.Options.Create(new MnistOptions { DataDirectory = MnistDirectory(), Download = false }),
            Microsoft.Extensions.Options.Options.Create(new DatasetOptions()), Microsoft.Extensions.Options.Options.Create(Checkpoints), Datasets);
    }

    public Task InitializeAsync() => Database.MigrateAsync(CancellationToken.None);

    public TrainingJobRunner Runner()
    {
        var options = Microsoft.Extensions.Options.Options.Create(Options);
        var state = new WorkerState(options);
        return new(Store, Epochs, CheckpointIndex, Attempts, Data, threads ??= new TrainingThreads(options, state), state, options, Microsoft.Extensions.Options.Options.Create(Checkpoints), TimeProvider.System,
            NullLogger<TrainingJobRunner>.Instance);
    }

    private TrainingThreads? threads;

    public JobReaper Reaper() => new(Store, Database, this, Microsoft.Extensions.Options.Options.Create(Options), TimeProvider.System, NullLogger<JobReaper>.Instance);

    public void Dispatch(JobRecord job)
    {
        lock (Dispatched) Dispatched.Add(job.Id);
    }

    public async Task<JobRecord> SubmitAsync(Hyperparameters hyperparameters, JobKind kind = JobKind.Train, EvalSource? source = null, string? traceParent = null, string dataset = DatasetCatalog.MnistName)
    {
        var (job, _) = await Store.CreateAsync(new JobRecord
        {
            Id = Guid.CreateVersion7(),
            Kind = kind,
            Architecture = ArchitectureCatalog.ConvNetName,
            Hyperparameters = hyperparameters,
            Dataset = dataset,
            Source = source,
            CreatedAt = DateTimeOffset.UtcNow,
            TraceParent = traceParent,
        }, CancellationToken.None);
        return job;
    }

    public static Hyperparameters Quick => ArchitectureCatalog.ConvNet.Defaults with { Epochs = 2, TrainSubset = 512, BatchSize = 64, Device = "cpu", Seed = 9 };

    public static string MnistDirectory()
    {
        if (Environment.GetEnvironmentVariable("TRAININGSERVICE_TEST_MNIST") is { Length: > 0 } d) return d;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "TrainingService.sln")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "mnist"));
        throw new DirectoryNotFoundException("TrainingService.sln not found above " + AppContext.BaseDirectory);
    }

    public async Task DisposeAsync()
    {
        threads?.Dispose();
        Data.Dispose();
        await Database.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }
}
