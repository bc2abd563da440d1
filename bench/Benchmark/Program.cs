using TrainingService.Contracts.Datasets;
using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TrainingService.Benchmark;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Models.Data;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;

// Prints, for each architecture: the engine's training throughput over full epochs, the bare
// model step on one pre-made batch (the compute limit of the loop), the naive notebook-style loop,
// the evaluation pass, and memory. The last lines are one JSON object per architecture.
//
//   dotnet run -c Release --project bench/Benchmark -- [--quick] [--data DIR] [--device cpu]
//       [--threads N] [--architectures convnet,resnet18,attention] [--epochs N]

// Untimed steps of each loop before it is timed: the first calls allocate and pick kernels.
const int WarmUpSteps = 5;

var options = BenchmarkOptions.Parse(args);
set_num_threads(options.Threads);
var device = Devices.Resolve(options.Device);
Console.WriteLine($"device {Devices.Describe(device)}, {get_num_threads()} threads, {Environment.ProcessorCount} cores, data {options.DataDirectory}, {(options.Quick ? "quick" : "full")} run");

var rawTrain = MnistLoader.Load(options.DataDirectory, DatasetSplit.Train);
using var test = ImageTensors.Load(options.DataDirectory, DatasetSplit.Test, device);
var results = new List<Dictionary<string, object>>();

foreach (var name in options.Architectures)
{
    var info = ArchitectureCatalog.Get(name);
    var batchSize = info.Defaults.BatchSize;
    // Quick: a few hundred steps on a subset; full: whole epochs (three for the convnet, to see memory settle).
    int? subset = options.Quick ? Math.Min(rawTrain.Count, options.QuickSteps * batchSize) : null;
    var epochs = options.Epochs ?? (options.Quick ? 1 : name == ArchitectureCatalog.ConvNetName ? 3 : 1);
    var hyperparameters = info.Defaults with { Epochs = epochs, TrainSubset = subset, Device = options.Device };
    Console.WriteLine($"\n== {name}: batch {batchSize}, {epochs} epoch(s) of {subset ?? rawTrain.Count} images");

    using var train = ImageTensors.FromBytes(rawTrain.Pixels, rawTrain.Labels, device, subset);

    // The reference loops run in chunks before the first epoch and after each one (their steps
    // split evenly between the chunks): this machine's speed drifts by 10 % and more from one
    // minute to the next, so an epoch is compared with the chunks just before and after it.
    using var references = new ReferenceLoops(info, hyperparameters, train, rawTrain, device, batchSize);
    var chunkSteps = Math.Max(1, (options.Quick ? Math.Min(60, options.QuickSteps) : 300) / (epochs + 1));
    // The engine's warm-up: an epoch of that many batches, on a throwaway model.
    using (var warmUp = ImageTensors.FromTensors(train.Images.narrow(0, 0, WarmUpSteps * batchSize), train.Labels.narrow(0, 0, WarmUpSteps * batchSize)))
        new TrainingEngine().Train(new TrainingPlan(info, hyperparameters with { Epochs = 1, TrainSubset = null }, device), warmUp, test, new EpochRecorder(() => { }), CancellationToken.None);

    // The peak is the engine's: taken over each epoch alone, from the memory in place when it starts
    // (data, the reference models), with the chunk's garbage collected before the next epoch.
    List<(double Bare, double Naive)> chunks = [];
    List<double> epochPeaksMB = [];
    void MeasureReferences()
    {
        chunks.Add(references.Measure(WarmUpSteps, chunkSteps));
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        ProcessMemory.ResetPeak();
    }
    MeasureReferences();
    var recorder = new EpochRecorder(() =>
    {
        epochPeaksMB.Add(ProcessMemory.PeakMB);
        MeasureReferences();
    });
    var outcome = new TrainingEngine().Train(new TrainingPlan(info, hyperparameters, device), train, test, recorder, CancellationToken.None);
    var peakMB = epochPeaksMB.Max();

    var toBare = new List<double>();
    var toNaive = new List<double>();
    foreach (var (e, rss) in outcome.Epochs.Zip(recorder.WorkingSetMB))
    {
        var bareAround = (chunks[e.Epoch - 1].Bare + chunks[e.Epoch].Bare) / 2;
        var naiveAround = (chunks[e.Epoch - 1].Naive + chunks[e.Epoch].Naive) / 2;
        toBare.Add(e.SamplesPerSecond / bareAround);
        toNaive.Add(e.SamplesPerSecond / naiveAround);
        Console.WriteLine($"   epoch {e.Epoch}: {e.SamplesPerSecond,8:F0} img/s train, {e.EpochSeconds,6:F1} s epoch, test acc {e.TestAccuracy:P2}, RSS {rss:F0} MB; "
            + $"around it bare step {bareAround:F0} img/s (× {toBare[^1]:F2}), naive loop {naiveAround:F0} img/s (× {toNaive[^1]:F2})");
    }
    var engineRate = outcome.Epochs.Average(e => e.SamplesPerSecond);
    var modelStepRate = chunks.Average(c => c.Bare);
    var naiveRate = chunks.Average(c => c.Naive);
    Console.WriteLine($"   bare model step: {modelStepRate:F0} img/s, naive loop: {naiveRate:F0} img/s ({chunks.Count} chunks of {chunkSteps} steps)");

    var evalClock = Stopwatch.StartNew();
    using (var model = info.Create()) { model.to(device); TrainingEngine.Evaluate(model, test); }
    var evalSeconds = evalClock.Elapsed.TotalSeconds;

    results.Add(new()
    {
        ["architecture"] = name,
        ["device"] = Devices.Describe(device),
        ["threads"] = get_num_threads(),
        ["batchSize"] = batchSize,
        ["trainImages"] = train.Count,
        ["epochs"] = epochs,
        ["engineImagesPerSecond"] = Math.Round(engineRate),
        ["modelStepImagesPerSecond"] = Math.Round(modelStepRate),
        ["naiveImagesPerSecond"] = Math.Round(naiveRate),
        // Each epoch against the reference chunks around it, averaged over the epochs.
        ["engineToModelStep"] = Math.Round(toBare.Average(), 3),
        ["engineToNaive"] = Math.Round(toNaive.Average(), 2),
        ["epochSeconds"] = Math.Round(outcome.Epochs.Average(e => e.EpochSeconds), 2),
        ["evalSeconds"] = Math.Round(evalSeconds, 2),
        ["evalImagesPerSecond"] = Math.Round(test.Count / evalSeconds),
        ["finalTestAccuracy"] = Math.Round(outcome.FinalEvaluation.Accuracy, 4),
        ["peakWorkingSetMB"] = Math.Round(peakMB),
        ["workingSetByEpochMB"] = recorder.WorkingSetMB.Select(m => Math.Round(m)).ToArray(),
    });
}

Console.WriteLine();
foreach (var result in results)
    Console.WriteLine(JsonSerializer.Serialize(result));

/// <summary>Records the resident set at each epoch's end, then runs <paramref name="afterEpoch"/> (off the epoch's clock).</summary>
internal sealed class EpochRecorder(Action afterEpoch) : ITrainingObserver
{
    public List<double> WorkingSetMB { get; } = [];

    public void OnEpochCompleted(CompletedEpoch epoch)
    {
        WorkingSetMB.Add(ProcessMemory.CurrentMB);
        afterEpoch();
    }
}

internal sealed record BenchmarkOptions(bool Quick, string DataDirectory, string Device, int Threads, string[] Architectures, int? Epochs, int QuickSteps)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        var o = new BenchmarkOptions(false, Environment.GetEnvironmentVariable("Mnist__DataDirectory") ?? "./data/mnist", "cpu",
            Environment.ProcessorCount, [ArchitectureCatalog.ConvNetName, ArchitectureCatalog.ResNet18Name, ArchitectureCatalog.AttentionName], null, 200);
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--quick" => o with { Quick = true },
                "--data" => o with { DataDirectory = Value() },
                "--device" => o with { Device = Value() },
                "--threads" => o with { Threads = int.Parse(Value()) },
                "--architectures" => o with { Architectures = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "--epochs" => o with { Epochs = int.Parse(Value()) },
                "--quick-steps" => o with { QuickSteps = int.Parse(Value()) },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'. Options: --quick --data DIR --device D --threads N --architectures a,b --epochs N --quick-steps N"),
            };
        }
        foreach (var name in o.Architectures) ArchitectureCatalog.Get(name);
        return o;
    }
}
