using TrainingService.Contracts.Datasets;
using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.Data;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using TrainingService.ServiceBench.Infrastructure;

namespace TrainingService.ServiceBench.Scenarios;

/// <summary>
/// What running a job through the service costs over running the engine directly: the same
/// 1-epoch convnet job (defaults, seed 42, CPU) (a) by the engine alone, in a process of its own
/// (this program, started with <see cref="OverheadEngineRun.Argument"/>), straight into a checkpoint folder; (b) through the embedded service (the API on SQLite with its in-process worker); (c)
/// through the production layout (the API and a worker process on PostgreSQL). Each service is
/// warmed up first with a tiny job, so that its worker has loaded MNIST and libtorch has chosen
/// its kernels; the engine gets the same warm-up, so all three are timed equally warm.
/// </summary>
internal static class OverheadScenario
{
    private const double TargetOverheadPercent = 3;
    internal const int WarmUpSubset = 256;
    // Polling is itself load: at 100 ms the status requests (API, database, logging) cost the
    // job about 10 % on a 2-core machine. Once a second keeps that small; the job's own
    // createdAt→finishedAt, which no poll affects, is the measure; the observed wall time is reported beside it.
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(20);

    public static async Task<Dictionary<string, object?>> RunAsync(PostgresServer server, BenchOptions options, CancellationToken cancellationToken)
    {
        var subset = options.OverheadTrainSubset;
        var hyperparameters = OverheadEngineRun.TimedJob(subset);
        Console.WriteLine($"== {BenchOptions.Overhead}: 1 convnet epoch on {subset?.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) ?? "all 60,000"} images " +
            $"(batch {hyperparameters.BatchSize}, seed {hyperparameters.Seed}, cpu, {Environment.ProcessorCount} threads), {options.Repeat} round(s) of the three modes");
        if (!File.Exists(Path.Combine(options.DataDirectory, "train-images-idx3-ubyte.gz")) && !File.Exists(Path.Combine(options.DataDirectory, "train-images-idx3-ubyte")))
            throw new FileNotFoundException($"No MNIST files in {options.DataDirectory}; pass --data DIR.");

        // Round by round, the three modes one after the other: this machine's speed drifts by
        // several per cent over minutes, which a mode measured all at once would take for overhead.
        // Each round compares its service runs with its own engine run, and each mode runs in a
        // fresh process (an engine run in this process, after it has started and read services,
        // came out 20 % slower than the services' own jobs).
        var rounds = new List<Round>();
        for (var round = 1; round <= options.Repeat; round++)
        {
            var engineRun = await OverheadEngineRun.RunProcessAsync(options, cancellationToken);
            Console.WriteLine($"   round {round} (load {MachineLoad.Describe()}): (a) engine alone:        {engineRun.Seconds:F2} s, training {engineRun.TrainImagesPerSecond:F0} img/s\n" +
                $"                step p50 {engineRun.StepP50Ms:F1} ms, p99 {engineRun.StepP99Ms:F1} ms ({engineRun.Steps} steps); {engineRun.Activity}");
            // With a variant, the two settings alternate which goes first, so a drift favours neither.
            var variantFirst = options.OverheadVariant.Count > 0 && round % 2 == 0;
            ServiceRun? embeddedVariant = null, postgresVariant = null;
            if (variantFirst)
                (embeddedVariant, postgresVariant) = await RunVariantAsync();
            var embedded = await RunEmbeddedAsync(options, hyperparameters, NoSettings, cancellationToken);
            Print("(b) embedded (SQLite):  ", embedded, engineRun.Seconds);
            var postgres = await RunPostgresAsync(server, options, hyperparameters, NoSettings, cancellationToken);
            Print("(c) PostgreSQL + worker:", postgres, engineRun.Seconds);
            if (options.OverheadVariant.Count > 0 && !variantFirst)
                (embeddedVariant, postgresVariant) = await RunVariantAsync();
            rounds.Add(new Round(engineRun, embedded, postgres, embeddedVariant, postgresVariant));

            async Task<(ServiceRun, ServiceRun)> RunVariantAsync()
            {
                var e = await RunEmbeddedAsync(options, hyperparameters, options.OverheadVariant, cancellationToken);
                Print("(d) embedded, variant:  ", e, engineRun.Seconds);
                var p = await RunPostgresAsync(server, options, hyperparameters, options.OverheadVariant, cancellationToken);
                Print("(e) PostgreSQL, variant:", p, engineRun.Seconds);
                return (e, p);
            }
        }

        if (options.OverheadVariant.Count > 0)
        {
            Console.WriteLine($"   variant {string.Join(",", options.OverheadVariant.Select(kv => $"{kv.Key}={kv.Value}"))}: median over rounds, createdAt→finishedAt against the round's engine run: " +
                $"embedded {ToJson(rounds, r => r.EmbeddedVariant!)["createdToFinishedOverheadPercent"]:+0.0;-0.0} %, PostgreSQL {ToJson(rounds, r => r.PostgresVariant!)["createdToFinishedOverheadPercent"]:+0.0;-0.0} %");
        }
        var engineAccuracy = rounds[0].Engine.TestAccuracy;
        var sameResult = rounds.All(r => r.Engine.TestAccuracy == engineAccuracy
            && new[] { r.Embedded, r.Postgres }.All(s => s.TestAccuracy is { } accuracy && Math.Abs(accuracy - engineAccuracy) < 1e-9));
        if (!sameResult)
            Console.WriteLine("   MISMATCH: the service's jobs ended with another test accuracy than the engine's run");
        var embeddedJson = ToJson(rounds, r => r.Embedded);
        var postgresJson = ToJson(rounds, r => r.Postgres);
        Console.WriteLine($"   median over rounds, createdAt→finishedAt against the round's engine run: embedded {embeddedJson["createdToFinishedOverheadPercent"]:+0.0;-0.0} %, " +
            $"PostgreSQL {postgresJson["createdToFinishedOverheadPercent"]:+0.0;-0.0} %; POST→seen ended (polled each second): " +
            $"embedded {embeddedJson["overheadPercent"]:+0.0;-0.0} %, PostgreSQL {postgresJson["overheadPercent"]:+0.0;-0.0} %");
        var worstOverhead = Math.Max((double)embeddedJson["createdToFinishedOverheadPercent"]!, (double)postgresJson["createdToFinishedOverheadPercent"]!);
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
            ["rounds"] = options.Repeat,
            ["engineSeconds"] = Math.Round(Median(rounds.Select(r => r.Engine.Seconds)), 3),
            ["engineRunsSeconds"] = rounds.Select(r => Math.Round(r.Engine.Seconds, 3)).ToArray(),
            ["engineTrainImagesPerSecond"] = rounds.Select(r => Math.Round(r.Engine.TrainImagesPerSecond)).ToArray(),
            ["engineStepP50Ms"] = rounds.Select(r => Math.Round(r.Engine.StepP50Ms, 2)).ToArray(),
            ["engineStepP99Ms"] = rounds.Select(r => Math.Round(r.Engine.StepP99Ms, 2)).ToArray(),
            ["engineTestAccuracy"] = Math.Round(engineAccuracy, 4),
            ["embedded"] = embeddedJson,
            ["postgresql"] = postgresJson,
            ["variant"] = options.OverheadVariant.Count == 0 ? null : new Dictionary<string, object?>
            {
                ["settings"] = options.OverheadVariant,
                ["embedded"] = ToJson(rounds, r => r.EmbeddedVariant!),
                ["postgresql"] = ToJson(rounds, r => r.PostgresVariant!),
            },
            ["targetOverheadPercent"] = TargetOverheadPercent,
            // The job's own wall time, from its submission to its end: what a client polling it more
            // often, or reading its event stream, sees up to the poll interval.
            ["targetMeasure"] = "median over rounds of createdAt→finishedAt against the same round's engine run",
            ["targetMet"] = worstOverhead <= TargetOverheadPercent,
            // The same job on the same device gives the same result wherever it runs: a check that
            // the three modes really did the same work.
            ["sameAccuracyAsEngine"] = sameResult,
            ["ok"] = sameResult,
        };
    }

    private sealed record Round(OverheadEngineRun.EngineRun Engine, ServiceRun Embedded, ServiceRun Postgres, ServiceRun? EmbeddedVariant, ServiceRun? PostgresVariant);

    private static readonly IReadOnlyDictionary<string, string> NoSettings = new Dictionary<string, string>();

    /// <summary>One timed job through the service: wall time as the client sees it, and the job's own times.</summary>
    private sealed record ServiceRun(
        Guid Id, double WallSeconds, double CreatedToFinishedSeconds, double QueueSeconds, double RunSeconds, double? TestAccuracy, double TrainImagesPerSecond,
        double StepP50Ms, double StepP99Ms, int Steps, string Activity);

    private static async Task<ServiceRun> RunEmbeddedAsync(
        BenchOptions options, Hyperparameters hyperparameters, IReadOnlyDictionary<string, string> extra, CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("servicebench-embedded-").FullName;
        try
        {
            var port = ServiceProcess.FreeLoopbackPort();
            await using var api = ServiceProcess.Start("local host (embedded SQLite, in-process worker)", RepositoryPaths.LocalDll, folder, new Dictionary<string, string>(extra)
            {
                ["Storage__SqlitePath"] = Path.Combine(folder, "trainingservice.db"),
                ["Worker__Name"] = "servicebench-embedded",
                ["Worker__StepTimesFile"] = Path.Combine(folder, StepTimesFileName),
                ["Mnist__DataDirectory"] = options.DataDirectory,
                ["Mnist__Download"] = "false",
                ["Checkpoints__Root"] = Path.Combine(folder, "checkpoints"),
            }, "--urls", $"http://127.0.0.1:{port}");
            return await RunThroughServiceAsync(new Uri($"http://127.0.0.1:{port}"), [api], api, Path.Combine(folder, StepTimesFileName), hyperparameters, cancellationToken);
        }
        finally
        {
            QueueOnlyService.TryDelete(folder);
        }
    }

    private static async Task<ServiceRun> RunPostgresAsync(
        PostgresServer server, BenchOptions options, Hyperparameters hyperparameters, IReadOnlyDictionary<string, string> extra, CancellationToken cancellationToken)
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
                // The bench sends no API key; authentication is on by default with PostgreSQL.
                ["Auth__Enabled"] = "false",
                ["Checkpoints__Root"] = checkpoints,
            }, "--urls", $"http://127.0.0.1:{port}");
            await using var worker = ServiceProcess.Start("worker (PostgreSQL)", RepositoryPaths.WorkerDll, folder, new Dictionary<string, string>(extra)
            {
                ["Storage__PostgresConnectionString"] = database.ConnectionString,
                ["Worker__Name"] = "servicebench-worker",
                ["Worker__StepTimesFile"] = Path.Combine(folder, StepTimesFileName),
                ["Mnist__DataDirectory"] = options.DataDirectory,
                ["Mnist__Download"] = "false",
                ["Checkpoints__Root"] = checkpoints,
            });
            return await RunThroughServiceAsync(new Uri($"http://127.0.0.1:{port}"), [api, worker], worker, Path.Combine(folder, StepTimesFileName), hyperparameters, cancellationToken);
        }
        finally
        {
            QueueOnlyService.TryDelete(folder);
        }
    }

    private const string StepTimesFileName = "step-times.txt";

    /// <summary>
    /// The warm-up job, then the timed job, from just before its POST to the poll that first sees it ended; with the
    /// training process's step times (from its step-times file) and what its threads did meanwhile.
    /// </summary>
    private static async Task<ServiceRun> RunThroughServiceAsync(
        Uri baseAddress, ServiceProcess[] processes, ServiceProcess trainer, string stepTimesFile, Hyperparameters h, CancellationToken cancellationToken)
    {
        using var http = ServiceClient.Create(baseAddress, 4);
        await ServiceClient.WaitUntilReadyAsync(http, processes[0], TimeSpan.FromSeconds(120), cancellationToken);

        var warmUp = ServiceClient.TrainJobBody("servicebench overhead warm-up", ["servicebench"],
            new { epochs = 1, trainSubset = WarmUpSubset, device = h.Device });
        var warmUpId = await ServiceClient.SubmitAsync(http, warmUp, cancellationToken);
        var (warmedUp, _) = await ServiceClient.WaitForTerminalAsync(http, warmUpId, processes, PollInterval, JobTimeout, cancellationToken);
        if (warmedUp.Status != "succeeded")
            throw new InvalidOperationException($"the warm-up job {warmUpId} ended {warmedUp.Status}: {warmedUp.Error}");

        File.Delete(stepTimesFile);

        var body = ServiceClient.TrainJobBody("servicebench overhead", ["servicebench"],
            new { epochs = h.Epochs, batchSize = h.BatchSize, seed = h.Seed, device = h.Device, trainSubset = h.TrainSubset });
        var threadsBefore = ThreadActivity.Snapshot(trainer.Pid);
        var start = Stopwatch.GetTimestamp();
        var id = await ServiceClient.SubmitAsync(http, body, cancellationToken);
        var (job, observedAt) = await ServiceClient.WaitForTerminalAsync(http, id, processes, PollInterval, JobTimeout, cancellationToken);
        var activity = ThreadActivity.Between(threadsBefore, ThreadActivity.Snapshot(trainer.Pid), Stopwatch.GetElapsedTime(start, observedAt).TotalSeconds,
            Environment.ProcessorCount);
        if (job.Status != "succeeded")
            throw new InvalidOperationException($"job {id} ended {job.Status}: {job.Error}");
        var steps = File.Exists(stepTimesFile)
            ? File.ReadAllLines(stepTimesFile).Select(l => double.Parse(l, System.Globalization.CultureInfo.InvariantCulture)).ToList()
            : [];
        var stepLatency = LatencySummary.Of(steps);
        return new ServiceRun(id,
            Stopwatch.GetElapsedTime(start, observedAt).TotalSeconds,
            (job.FinishedAt!.Value - job.CreatedAt).TotalSeconds,
            (job.StartedAt!.Value - job.CreatedAt).TotalSeconds,
            (job.FinishedAt!.Value - job.StartedAt!.Value).TotalSeconds,
            job.FinalTestAccuracy,
            await LastEpochImagesPerSecondAsync(http, id, cancellationToken),
            stepLatency.P50, stepLatency.P99, steps.Count, activity.ToString());
    }

    /// <summary>The training throughput the job recorded for its last epoch (the engine's own figure, as the worker measured it).</summary>
    private static async Task<double> LastEpochImagesPerSecondAsync(HttpClient http, Guid id, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync($"/jobs/{id}/metrics", cancellationToken));
        return document.RootElement.EnumerateArray().Last().GetProperty("samplesPerSecond").GetDouble();
    }

    private static void Print(string label, ServiceRun r, double engineSeconds) =>
        Console.WriteLine($"            {label} POST→seen ended {r.WallSeconds:F2} s ({Overhead(r.WallSeconds, engineSeconds):+0.0;-0.0} %), " +
            $"createdAt→finishedAt {r.CreatedToFinishedSeconds:F2} s ({Overhead(r.CreatedToFinishedSeconds, engineSeconds):+0.0;-0.0} %): " +
            $"queued {r.QueueSeconds:F2} s + running {r.RunSeconds:F2} s; training {r.TrainImagesPerSecond:F0} img/s; test accuracy {r.TestAccuracy:P2}\n" +
            $"                step p50 {r.StepP50Ms:F1} ms, p99 {r.StepP99Ms:F1} ms ({r.Steps} steps); {r.Activity}");

    /// <summary>One mode's figures: medians over the rounds, each overhead against its own round's engine run.</summary>
    private static Dictionary<string, object?> ToJson(List<Round> rounds, Func<Round, ServiceRun> mode) => new()
    {
        ["wallSeconds"] = Math.Round(Median(rounds.Select(r => mode(r).WallSeconds)), 3),
        ["overheadPercent"] = Math.Round(Median(rounds.Select(r => Overhead(mode(r).WallSeconds, r.Engine.Seconds))), 2),
        ["createdToFinishedSeconds"] = Math.Round(Median(rounds.Select(r => mode(r).CreatedToFinishedSeconds)), 3),
        ["createdToFinishedOverheadPercent"] = Math.Round(Median(rounds.Select(r => Overhead(mode(r).CreatedToFinishedSeconds, r.Engine.Seconds))), 2),
        ["queueSeconds"] = Math.Round(Median(rounds.Select(r => mode(r).QueueSeconds)), 3),
        ["runSeconds"] = Math.Round(Median(rounds.Select(r => mode(r).RunSeconds)), 3),
        ["testAccuracy"] = mode(rounds[^1]).TestAccuracy is { } accuracy ? Math.Round(accuracy, 4) : null,
        ["runs"] = rounds.Select(r => mode(r)).Select(r => new Dictionary<string, object?>
        {
            ["jobId"] = r.Id,
            ["wallSeconds"] = Math.Round(r.WallSeconds, 3),
            ["createdToFinishedSeconds"] = Math.Round(r.CreatedToFinishedSeconds, 3),
            ["queueSeconds"] = Math.Round(r.QueueSeconds, 3),
            ["runSeconds"] = Math.Round(r.RunSeconds, 3),
            ["trainImagesPerSecond"] = Math.Round(r.TrainImagesPerSecond),
            ["stepP50Ms"] = Math.Round(r.StepP50Ms, 2),
            ["stepP99Ms"] = Math.Round(r.StepP99Ms, 2),
        }).ToArray(),
    };

    private static double Overhead(double seconds, double baseline) => (seconds / baseline - 1) * 100;

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
