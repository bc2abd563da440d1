using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Datasets;
using TrainingService.Contracts.Training;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.Data;
using TrainingService.Models.Training;
using TrainingService.ServiceBench.Infrastructure;

namespace TrainingService.ServiceBench.Scenarios;

/// <summary>
/// The overhead scenario's baseline: the engine alone, in a fresh process of its own (this program,
/// started with <see cref="Argument"/>), warmed up as a worker is, timing each step and reading
/// what its threads did, and printing its figures as one JSON line for the scenario to read.
/// </summary>
internal static class OverheadEngineRun
{
    /// <summary>The argument that makes this program one engine run (<see cref="RunInThisProcess"/>) and nothing else.</summary>
    public const string Argument = "--overhead-engine-run";

    /// <summary>The timed job: one convnet epoch with the defaults, seed 42, on the CPU, on the first <paramref name="subset"/> images (all when null).</summary>
    internal static Hyperparameters TimedJob(int? subset) =>
        ArchitectureCatalog.ConvNet.Defaults with { Epochs = 1, Device = "cpu", Seed = 42, BatchSize = 128, TrainSubset = subset };

    /// <summary>The baseline in this (fresh) process: the warmed-up engine runs the timed job once and prints its figures as one JSON line.</summary>
    public static int RunInThisProcess(string dataDirectory, string subset)
    {
        var images = subset == "all" ? (int?)null : int.Parse(subset, System.Globalization.CultureInfo.InvariantCulture);
        using var engine = new EngineBaseline(dataDirectory, CancellationToken.None);
        var run = engine.Run(TimedJob(images));
        Console.WriteLine(JsonSerializer.Serialize(run));
        return 0;
    }

    internal static async Task<EngineRun> RunProcessAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("servicebench-engine-").FullName;
        try
        {
            await using var process = ServiceProcess.Start("engine alone", Path.Combine(AppContext.BaseDirectory, "TrainingService.ServiceBench.dll"),
                // libgomp's short spin, as the workers set it (Worker/Hosting/OpenMpDefaults): the service's
                // cost is what is compared, not libgomp's two spin policies. With the default long spin on a
                // loaded machine the engine alone ran 10 times slower than the same steps in a worker.
                folder, new Dictionary<string, string> { ["GOMP_SPINCOUNT"] = "100" }, Argument, options.DataDirectory,
                options.OverheadTrainSubset?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all");
            if (await process.WaitForExitAsync(cancellationToken) != 0)
                throw new InvalidOperationException($"the engine run failed:\n{process.Tail}");
            return JsonSerializer.Deserialize<EngineRun>(process.Tail.Split('\n')[^1])
                ?? throw new InvalidOperationException($"the engine run printed no figures:\n{process.Tail}");
        }
        finally
        {
            QueueOnlyService.TryDelete(folder);
        }
    }

    internal sealed record EngineRun(double Seconds, double TestAccuracy, double TrainImagesPerSecond, double StepP50Ms, double StepP99Ms, int Steps, string Activity);

    /// <summary>
    /// The engine in this process, as a worker runs it: libtorch's thread count set once, both
    /// splits loaded once as tensors (not timed: a warm worker has them cached), warmed up with a
    /// small job, and each run training on a view of the first N images into a checkpoint folder.
    /// </summary>
    private sealed class EngineBaseline : IDisposable
    {
        private readonly torch.Device device = Devices.Resolve("cpu");
        private readonly ImageTensors train;
        private readonly ImageTensors test;
        private readonly CancellationToken cancellationToken;

        public EngineBaseline(string dataDirectory, CancellationToken cancellationToken)
        {
            this.cancellationToken = cancellationToken;
            torch.set_num_threads(Environment.ProcessorCount);
            train = ImageTensors.Load(dataDirectory, DatasetSplit.Train, device);
            test = ImageTensors.Load(dataDirectory, DatasetSplit.Test, device);
            Run(ArchitectureCatalog.ConvNet.Defaults with { Epochs = 1, Device = "cpu", TrainSubset = OverheadScenario.WarmUpSubset });
        }

        public EngineRun Run(Hyperparameters h)
        {
            var folder = Directory.CreateTempSubdirectory("servicebench-engine-").FullName;
            try
            {
                var count = Math.Min(h.TrainSubset ?? train.Count, train.Count);
                using var view = ImageTensors.FromTensors(train.Images.narrow(0, 0, count), train.Labels.narrow(0, 0, count));
                var plan = new TrainingPlan(ArchitectureCatalog.ConvNet, h, device);
                var steps = new StepTimes();
                // Progress after every step, as the worker does when it times its steps (Worker__StepTimesFile).
                var engine = new TrainingEngine { ProgressInterval = TimeSpan.Zero };
                var before = ThreadActivity.Snapshot(Environment.ProcessId);
                var clock = Stopwatch.StartNew();
                var outcome = CheckpointedTraining.Run(plan, view, test, new CheckpointStore(folder), steps, cancellationToken, engine);
                var seconds = clock.Elapsed.TotalSeconds;
                var activity = ThreadActivity.Between(before, ThreadActivity.Snapshot(Environment.ProcessId), seconds, torch.get_num_threads());
                var stepLatency = LatencySummary.Of(steps.Milliseconds);
                return new EngineRun(seconds, outcome.FinalEvaluation.Accuracy, outcome.Epochs[^1].SamplesPerSecond,
                    stepLatency.P50, stepLatency.P99, steps.Milliseconds.Count, activity.ToString());
            }
            finally
            {
                QueueOnlyService.TryDelete(folder);
            }
        }

        public void Dispose()
        {
            train.Dispose();
            test.Dispose();
        }
    }

    /// <summary>Each step's wall time: the time between consecutive steps' progress reports within an epoch (as the worker's StepTimeRecorder).</summary>
    private sealed class StepTimes : ITrainingObserver
    {
        private long last;
        private int lastEpoch = -1;
        private long lastStep;

        public List<double> Milliseconds { get; } = new(4096);

        public void OnProgress(TrainingProgress progress)
        {
            var now = Stopwatch.GetTimestamp();
            if (progress.Epoch == lastEpoch && progress.Step == lastStep + 1)
                Milliseconds.Add(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
            (last, lastEpoch, lastStep) = (now, progress.Epoch, progress.Step);
        }

        public void OnEpochCompleted(CompletedEpoch epoch) => lastEpoch = -1;
    }
}
