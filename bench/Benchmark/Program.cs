using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TrainingService.Benchmark;
using TrainingService.Models.Architectures;
using TrainingService.Models.Data;
using TrainingService.Models.Training;
using static TorchSharp.torch;

// Prints, for each architecture: the engine's training throughput over full epochs, the bare
// model step on one pre-made batch (the compute limit of the loop), the naive notebook-style loop,
// the evaluation pass, and memory. The last lines are one JSON object per architecture.
//
//   dotnet run -c Release --project bench/Benchmark -- [--quick] [--data DIR] [--device cpu]
//       [--threads N] [--architectures convnet,resnet18,attention] [--epochs N]

var options = BenchmarkOptions.Parse(args);
set_num_threads(options.Threads);
var device = Devices.Resolve(options.Device);
Console.WriteLine($"device {Devices.Describe(device)}, {get_num_threads()} threads, {Environment.ProcessorCount} cores, data {options.DataDirectory}, {(options.Quick ? "quick" : "full")} run");

var rawTrain = MnistLoader.Load(options.DataDirectory, MnistSplit.Train);
using var test = MnistTensors.Load(options.DataDirectory, MnistSplit.Test, device);
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

    using var train = MnistTensors.FromBytes(rawTrain.Pixels, rawTrain.Labels, device, subset);
    ProcessMemory.ResetPeak();

    // 1. The engine, over whole epochs, with its evaluation pass timed separately.
    var recorder = new EpochRecorder();
    var outcome = new TrainingEngine().Train(new TrainingPlan(info, hyperparameters, device), train, test, recorder, CancellationToken.None);
    var engineRate = outcome.Epochs.Average(e => e.SamplesPerSecond);
    var peakMB = ProcessMemory.PeakMB;
    foreach (var (e, rss) in outcome.Epochs.Zip(recorder.WorkingSetMB))
        Console.WriteLine($"   epoch {e.Epoch}: {e.SamplesPerSecond,8:F0} img/s train, {e.EpochSeconds,6:F1} s epoch, test acc {e.TestAccuracy:P2}, RSS {rss:F0} MB");

    // 2. The bare model step on one pre-made batch, and 3. the naive loop, each on a fresh model.
    var steps = options.Quick ? Math.Min(60, options.QuickSteps) : 300;
    var modelStepRate = ModelStepImagesPerSecond(info, hyperparameters, train, device, batchSize, steps);
    Console.WriteLine($"   bare model step: {modelStepRate:F0} img/s over {steps} steps");
    var naiveRate = NaiveImagesPerSecond(info, hyperparameters, rawTrain, device, batchSize, steps);
    Console.WriteLine($"   naive loop:      {naiveRate:F0} img/s over {steps} steps");

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
        ["engineToModelStep"] = Math.Round(engineRate / modelStepRate, 3),
        ["engineToNaive"] = Math.Round(engineRate / naiveRate, 2),
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

static double ModelStepImagesPerSecond(ArchitectureInfo info, Hyperparameters h, MnistTensors train, Device device, int batchSize, int steps)
{
    manual_seed(h.Seed);
    using var model = info.Create();
    model.to(device);
    model.train();
    using var optimizer = TrainingEngine.CreateOptimizer(h, model.parameters());
    using var images = train.Images.narrow(0, 0, batchSize).clone();
    using var labels = train.Labels.narrow(0, 0, batchSize).clone();

    void Step()
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        nn.functional.cross_entropy(model.call(images), labels).backward();
        optimizer.step();
    }

    for (var i = 0; i < 5; i++) Step(); // warm-up: first calls allocate and pick kernels
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < steps; i++) Step();
    using (var probe = model.parameters().First().sum()) probe.item<float>(); // wait for queued device work
    return steps * batchSize / clock.Elapsed.TotalSeconds;
}

static double NaiveImagesPerSecond(ArchitectureInfo info, Hyperparameters h, MnistRawSplit raw, Device device, int batchSize, int steps)
{
    manual_seed(h.Seed);
    using var model = info.Create();
    model.to(device);
    using var optimizer = TrainingEngine.CreateOptimizer(h, model.parameters());
    var loop = new NaiveLoop(raw);
    loop.ImagesPerSecond(model, optimizer, device, batchSize, 5);
    return loop.ImagesPerSecond(model, optimizer, device, batchSize, steps);
}

internal sealed class EpochRecorder : ITrainingObserver
{
    public List<double> WorkingSetMB { get; } = [];

    public void OnEpochCompleted(CompletedEpoch epoch) => WorkingSetMB.Add(ProcessMemory.CurrentMB);
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
