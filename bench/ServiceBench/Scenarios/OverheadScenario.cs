using System.Diagnostics;
using TorchSharp;
using TrainingService.Models.Architectures;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.Data;
using TrainingService.Models.Training;
using TrainingService.ServiceBench.Infrastructure;

namespace TrainingService.ServiceBench.Scenarios;

/// <summary>
/// What running a job through the service costs over running the engine directly: the same
/// 1-epoch convnet job (defaults, seed 42, CPU) (a) in this process, straight into a checkpoint
/// folder; (b) through the embedded service (the API on SQLite with its in-process worker); (c)
/// through the production layout (the API and a worker process on PostgreSQL). Each service is
/// warmed up first with a tiny job, so that its worker has loaded MNIST and libtorch has chosen
/// its kernels; the engine gets the same warm-up, so all three are timed equally warm.
/// </summary>
internal static class OverheadScenario
{
    private const double TargetOverheadPercent = 3;
    private const int WarmUpSubset = 256;
    // Polling is itself load: at 100 ms the status requests (API, database, logging) cost the
    // job about 10 % on a 2-core machine. Once a second keeps that small; the job's own
    // createdAt→finishedAt, which no poll affects, is reported beside the observed wall time.
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(20);

    public static async Task<Dictionary<string, object?>> RunAsync(PostgresServer server, BenchOptions options, CancellationToken cancellationToken)
    {
        var subset = options.OverheadTrainSubset;
        var hyperparameters = ArchitectureCatalog.ConvNet.Defaults with { Epochs = 1, Device = "cpu", Seed = 42, BatchSize = 128, TrainSubset = subset };
        Console.WriteLine($"== {BenchOptions.Overhead}: 1 convnet epoch on {subset?.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) ?? "all 60,000"} images " +
            $"(batch {hyperparameters.BatchSize}, seed {hyperparameters.Seed}, cpu, {Environment.ProcessorCount} threads), {options.Repeat} timed run(s) per mode");
        if (!File.Exists(Path.Combine(options.DataDirectory, "train-images-idx3-ubyte.gz")) && !File.Exists(Path.Combine(options.DataDirectory, "train-images-idx3-ubyte")))
            throw new FileNotFoundException($"No MNIST files in {options.DataDirectory}; pass --data DIR.");

        var engine = RunEngineAlone(options, hyperparameters, cancellationToken);
        var engineSeconds = Median(engine.Select(r => r.Seconds));
        Console.WriteLine($"   (a) engine alone:       {string.Join(", ", engine.Select(r => $"{r.Seconds:F2} s"))}; test accuracy {engine[^1].TestAccuracy:P2}");

        var embedded = await RunEmbeddedAsync(options, hyperparameters, cancellationToken);
        Print("(b) embedded (SQLite):  ", embedded, engineSeconds);
        var postgres = await RunPostgresAsync(server, options, hyperparameters, cancellationToken);
        Print("(c) PostgreSQL + worker:", postgres, engineSeconds);

        var sameResult = embedded.Concat(postgres).All(r => r.TestAccuracy is { } accuracy && Math.Abs(accuracy - engine[^1].TestAccuracy) < 1e-9);
        if (!sameResult)
            Console.WriteLine("   MISMATCH: the service's jobs ended with another test accuracy than the engine's run");
        var embeddedJson = ToJson(embedded, engineSeconds);
        var postgresJson = ToJson(postgres, engineSeconds);
        var worstOverhead = Math.Max(Overhead(Median(embedded.Select(r => r.WallSeconds)), engineSeconds),
            Overhead(Median(postgres.Select(r => r.WallSeconds)), engineSeconds));
        return new Dictionary<string, object?>
        {
            ["scenario"] = BenchOptions.Overhead,
            ["architecture"] = ArchitectureCatalog.ConvNetName,
            ["epochs"] = 1,
            ["trainImages"] = subset ?? 60_000,
            ["batchSize"] = hyperparameters.BatchSize,
            ["seed"] = hyperparameters.Seed,
            ["device"] = "cpu",
            ["threads"] = Environment.ProcessorCount,
            ["timedRunsPerMode"] = options.Repeat,
            ["engineSeconds"] = Math.Round(engineSeconds, 3),
            ["engineRunsSeconds"] = engine.Select(r => Math.Round(r.Seconds, 3)).ToArray(),
            ["engineTestAccuracy"] = Math.Round(engine[^1].TestAccuracy, 4),
            ["embedded"] = embeddedJson,
            ["postgresql"] = postgresJson,
            ["targetOverheadPercent"] = TargetOverheadPercent,
            ["targetMet"] = worstOverhead <= TargetOverheadPercent,
            // The same job on the same device gives the same result wherever it runs: a check that
            // the three modes really did the same work.
            ["sameAccuracyAsEngine"] = sameResult,
            ["ok"] = sameResult,
        };
    }

    /// <summary>One timed job through the service: wall time as the client sees it, and the job's own times.</summary>
    private sealed record ServiceRun(Guid Id, double WallSeconds, double CreatedToFinishedSeconds, double QueueSeconds, double RunSeconds, double? TestAccuracy);

    private sealed record EngineRun(double Seconds, double TestAccuracy);

    private static List<EngineRun> RunEngineAlone(BenchOptions options, Hyperparameters hyperparameters, CancellationToken cancellationToken)
    {
        // As a worker does: libtorch's thread count set once, both splits loaded once as tensors
        // (not timed: a warm worker has them cached), each job training on a view of the first N.
        torch.set_num_threads(Environment.ProcessorCount);
        var device = Devices.Resolve("cpu");
        using var train = MnistTensors.Load(options.DataDirectory, MnistSplit.Train, device);
        using var test = MnistTensors.Load(options.DataDirectory, MnistSplit.Test, device);

        RunOnce(hyperparameters with { TrainSubset = WarmUpSubset });
        var runs = new List<EngineRun>();
        for (var i = 0; i < options.Repeat; i++)
            runs.Add(RunOnce(hyperparameters));
        return runs;

        EngineRun RunOnce(Hyperparameters h)
        {
            var folder = Directory.CreateTempSubdirectory("servicebench-engine-").FullName;
            try
            {
                var count = Math.Min(h.TrainSubset ?? train.Count, train.Count);
                using var view = MnistTensors.FromTensors(train.Images.narrow(0, 0, count), train.Labels.narrow(0, 0, count));
                var plan = new TrainingPlan(ArchitectureCatalog.ConvNet, h, device);
                var clock = Stopwatch.StartNew();
                var outcome = CheckpointedTraining.Run(plan, view, test, new CheckpointStore(folder), new SilentObserver(), cancellationToken);
                return new EngineRun(clock.Elapsed.TotalSeconds, outcome.FinalEvaluation.Accuracy);
            }
            finally
            {
                QueueOnlyService.TryDelete(folder);
            }
        }
    }

    private static async Task<List<ServiceRun>> RunEmbeddedAsync(BenchOptions options, Hyperparameters hyperparameters, CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("servicebench-embedded-").FullName;
        try
        {
            var port = ServiceProcess.FreeLoopbackPort();
            await using var api = ServiceProcess.Start("API (embedded SQLite, in-process worker)", RepositoryPaths.ApiDll, folder, new Dictionary<string, string>
            {
                ["Storage__SqlitePath"] = Path.Combine(folder, "trainingservice.db"),
                ["Worker__Enabled"] = "true",
                ["Worker__Name"] = "servicebench-embedded",
                ["Mnist__DataDirectory"] = options.DataDirectory,
                ["Mnist__Download"] = "false",
                ["Checkpoints__Root"] = Path.Combine(folder, "checkpoints"),
            }, "--urls", $"http://127.0.0.1:{port}");
            return await RunThroughServiceAsync(new Uri($"http://127.0.0.1:{port}"), [api], options, hyperparameters, cancellationToken);
        }
        finally
        {
            QueueOnlyService.TryDelete(folder);
        }
    }

    private static async Task<List<ServiceRun>> RunPostgresAsync(PostgresServer server, BenchOptions options, Hyperparameters hyperparameters, CancellationToken cancellationToken)
    {
        // A database of its own: the latency scenarios' one holds hundreds of queued jobs that a worker would start on.
        await using var database = await server.CreateDatabaseAsync("overhead", cancellationToken);
        var folder = Directory.CreateTempSubdirectory("servicebench-postgres-").FullName;
        try
        {
            var checkpoints = Path.Combine(folder, "checkpoints");
            var port = ServiceProcess.FreeLoopbackPort();
            await using var api = ServiceProcess.Start("API (PostgreSQL, no worker)", RepositoryPaths.ApiDll, folder, new Dictionary<string, string>
            {
                ["Storage__PostgresConnectionString"] = database.ConnectionString,
                ["Worker__Enabled"] = "false",
                // The bench sends no API key; authentication is on by default with PostgreSQL.
                ["Auth__Enabled"] = "false",
                ["Checkpoints__Root"] = checkpoints,
            }, "--urls", $"http://127.0.0.1:{port}");
            await using var worker = ServiceProcess.Start("worker (PostgreSQL)", RepositoryPaths.WorkerDll, folder, new Dictionary<string, string>
            {
                ["Storage__PostgresConnectionString"] = database.ConnectionString,
                ["Worker__Name"] = "servicebench-worker",
                ["Mnist__DataDirectory"] = options.DataDirectory,
                ["Mnist__Download"] = "false",
                ["Checkpoints__Root"] = checkpoints,
            });
            return await RunThroughServiceAsync(new Uri($"http://127.0.0.1:{port}"), [api, worker], options, hyperparameters, cancellationToken);
        }
        finally
        {
            QueueOnlyService.TryDelete(folder);
        }
    }

    /// <summary>The warm-up job, then the timed jobs, each from just before its POST to the poll that first sees it ended.</summary>
    private static async Task<List<ServiceRun>> RunThroughServiceAsync(
        Uri baseAddress, ServiceProcess[] processes, BenchOptions options, Hyperparameters h, CancellationToken cancellationToken)
    {
        using var http = ServiceClient.Create(baseAddress, 4);
        await ServiceClient.WaitUntilReadyAsync(http, processes[0], TimeSpan.FromSeconds(120), cancellationToken);

        var warmUp = ServiceClient.TrainJobBody("servicebench overhead warm-up", ["servicebench"],
            new { epochs = 1, trainSubset = WarmUpSubset, device = h.Device });
        var warmUpId = await ServiceClient.SubmitAsync(http, warmUp, cancellationToken);
        var (warmedUp, _) = await ServiceClient.WaitForTerminalAsync(http, warmUpId, processes, PollInterval, JobTimeout, cancellationToken);
        if (warmedUp.Status != "succeeded")
            throw new InvalidOperationException($"the warm-up job {warmUpId} ended {warmedUp.Status}: {warmedUp.Error}");

        var body = ServiceClient.TrainJobBody("servicebench overhead", ["servicebench"],
            new { epochs = h.Epochs, batchSize = h.BatchSize, seed = h.Seed, device = h.Device, trainSubset = h.TrainSubset });
        var runs = new List<ServiceRun>();
        for (var i = 0; i < options.Repeat; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var id = await ServiceClient.SubmitAsync(http, body, cancellationToken);
            var (job, observedAt) = await ServiceClient.WaitForTerminalAsync(http, id, processes, PollInterval, JobTimeout, cancellationToken);
            if (job.Status != "succeeded")
                throw new InvalidOperationException($"job {id} ended {job.Status}: {job.Error}");
            runs.Add(new ServiceRun(id,
                Stopwatch.GetElapsedTime(start, observedAt).TotalSeconds,
                (job.FinishedAt!.Value - job.CreatedAt).TotalSeconds,
                (job.StartedAt!.Value - job.CreatedAt).TotalSeconds,
                (job.FinishedAt!.Value - job.StartedAt!.Value).TotalSeconds,
                job.FinalTestAccuracy));
        }
        return runs;
    }

    private static void Print(string label, List<ServiceRun> runs, double engineSeconds)
    {
        foreach (var r in runs)
        {
            Console.WriteLine($"   {label} POST→seen ended {r.WallSeconds:F2} s ({Overhead(r.WallSeconds, engineSeconds):+0.0;-0.0} %), " +
                $"createdAt→finishedAt {r.CreatedToFinishedSeconds:F2} s ({Overhead(r.CreatedToFinishedSeconds, engineSeconds):+0.0;-0.0} %): " +
                $"queued {r.QueueSeconds:F2} s + running {r.RunSeconds:F2} s; test accuracy {r.TestAccuracy:P2}");
        }
    }

    private static Dictionary<string, object?> ToJson(List<ServiceRun> runs, double engineSeconds)
    {
        var wall = Median(runs.Select(r => r.WallSeconds));
        var server = Median(runs.Select(r => r.CreatedToFinishedSeconds));
        return new Dictionary<string, object?>
        {
            ["wallSeconds"] = Math.Round(wall, 3),
            ["overheadPercent"] = Math.Round(Overhead(wall, engineSeconds), 2),
            ["createdToFinishedSeconds"] = Math.Round(server, 3),
            ["createdToFinishedOverheadPercent"] = Math.Round(Overhead(server, engineSeconds), 2),
            ["queueSeconds"] = Math.Round(Median(runs.Select(r => r.QueueSeconds)), 3),
            ["runSeconds"] = Math.Round(Median(runs.Select(r => r.RunSeconds)), 3),
            ["testAccuracy"] = runs[^1].TestAccuracy is { } accuracy ? Math.Round(accuracy, 4) : null,
            ["runs"] = runs.Select(r => new Dictionary<string, object?>
            {
                ["jobId"] = r.Id,
                ["wallSeconds"] = Math.Round(r.WallSeconds, 3),
                ["createdToFinishedSeconds"] = Math.Round(r.CreatedToFinishedSeconds, 3),
                ["queueSeconds"] = Math.Round(r.QueueSeconds, 3),
                ["runSeconds"] = Math.Round(r.RunSeconds, 3),
            }).ToArray(),
        };
    }

    private static double Overhead(double seconds, double baseline) => (seconds / baseline - 1) * 100;

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private sealed class SilentObserver : ITrainingObserver;
}
