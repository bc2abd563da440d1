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
// the evaluation pass, and memory ("epochs"); the engine side by side with Debian's PyTorch,
// interleaved, with achieved FLOP/s against a matrix product's ("pytorch"); and evaluation by
// batch size against bare forward loops ("evaluation"). The last lines are one JSON object per
// architecture.
//
//   dotnet run -c Release --project bench/Benchmark -- [--quick] [--data DIR] [--device cpu]
//       [--threads N] [--architectures convnet,resnet18,attention] [--epochs N]
//       [--phases epochs,pytorch,evaluation] [--rounds N] [--compare-steps N] [--eval-batches 128,256] [--test-images N]

// Untimed steps of each loop before it is timed: the first calls allocate and pick kernels.
const int WarmUpSteps = 5;

var options = BenchmarkOptions.Parse(args);
set_num_threads(options.Threads);
var device = Devices.Resolve(options.Device);
Console.WriteLine($"device {Devices.Describe(device)}, {get_num_threads()} threads, {Environment.ProcessorCount} cores, data {options.DataDirectory}, {(options.Quick ? "quick" : "full")} run");

var rawTrain = MnistLoader.Load(options.DataDirectory, DatasetSplit.Train);
using var test = ImageTensors.Load(options.DataDirectory, DatasetSplit.Test, device);
var results = new List<Dictionary<string, object>>();

// Quick runs compare on the first 1,000 test images; full ones on all 10,000.
var comparisonCount = Math.Min(test.Count, options.TestImages ?? (options.Quick ? 1000 : test.Count));
using var comparisonTest = ImageTensors.FromTensors(test.Images.narrow(0, 0, comparisonCount), test.Labels.narrow(0, 0, comparisonCount));
PyTorchProcess? pytorch = null;
if (options.Phases.Contains("pytorch") || options.Phases.Contains("evaluation"))
{
    (pytorch, var missing) = device.type == DeviceType.CPU ? PyTorchProcess.TryStart(options.DataDirectory, options.Threads) : (null, "the comparison is CPU against CPU");
    if (pytorch is null)
        Console.WriteLine($"PyTorch comparison skipped: {missing}.");
    else
    {
        var info = pytorch.Send(new { op = "info" });
        var blas = pytorch.Send(new { op = "matmul", n = 2048, repeat = options.Quick ? 3 : 10 });
        Console.WriteLine($"PyTorch {info["torch"]} (Debian python3-torch, Python {info["python"]}, {info["threads"]} threads) against TorchSharp {typeof(torch).Assembly.GetName().Version} with libtorch {__version__}; "
            + $"PyTorch's libblas: {string.Join(", ", info["libblas"]!.AsArray())}; its 2048² matmul {blas["gflops"]!.GetValue<double>():F1} GFLOP/s");
        if (!info["libblas"]!.AsArray().Any(path => path!.ToString().Contains("openblas", StringComparison.Ordinal)))
            Console.WriteLine("WARNING: PyTorch is not on OpenBLAS (the reference BLAS manages ~2.5 GFLOP/s): install libopenblas0-pthread (bash scripts/prerequisites.sh --benchmark) or the comparison says nothing.");
    }
}

foreach (var name in options.Architectures)
{
    var info = ArchitectureCatalog.Get(name);
    var batchSize = info.Defaults.BatchSize;
    // Quick: a few hundred steps on a subset; full: whole epochs (three for the convnet, to see memory settle).
    int? subset = options.Quick ? Math.Min(rawTrain.Count, options.QuickSteps * batchSize) : null;
    var epochs = options.Epochs ?? (options.Quick ? 1 : name == ArchitectureCatalog.ConvNetName ? 3 : 1);
    var hyperparameters = info.Defaults with { Epochs = epochs, TrainSubset = subset, Device = options.Device };
    using var train = ImageTensors.FromBytes(rawTrain.Pixels, rawTrain.Labels, device, subset);
    var result = new Dictionary<string, object> { ["architecture"] = name, ["device"] = Devices.Describe(device), ["threads"] = get_num_threads(), ["batchSize"] = batchSize };
    results.Add(result);
    if (options.Phases.Contains("pytorch") && pytorch is not null)
    {
        Console.WriteLine($"\n== {name}: side by side with PyTorch, batch {batchSize}");
        using var full = ImageTensors.FromBytes(rawTrain.Pixels, rawTrain.Labels, device);
        foreach (var (key, value) in new PyTorchComparison(pytorch, options.Rounds ?? (options.Quick ? 1 : 3), options.CompareSteps ?? (options.Quick ? 10 : 60))
            .Run(info, info.Defaults with { Device = options.Device }, full, comparisonTest, device))
            result[key] = value;
    }
    if (options.Phases.Contains("evaluation"))
    {
        Console.WriteLine($"\n== {name}: evaluation by batch size");
        foreach (var (key, value) in new EvaluationSweep(pytorch, options.Rounds ?? (options.Quick ? 1 : 3), options.EvalBatches ?? (options.Quick ? [128, 1000] : [128, 256, 512, 1000, 2000]))
            .Run(info, info.Defaults with { Device = options.Device }, comparisonTest, device))
            result[key] = value;
    }
    if (!options.Phases.Contains("epochs"))
        continue;
    Console.WriteLine($"\n== {name}: batch {batchSize}, {epochs} epoch(s) of {subset ?? rawTrain.Count} images");

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

    // After one untimed batch, as the side-by-side and sweep phases time it: a fresh model's first
    // call pays for creating its weights' kernel layouts and buffers, which a run pays once.
    double evalRate;
    using (var model = info.Create()) { model.to(device); evalRate = EngineLoops.Evaluate(model, test, TrainingEngine.EvaluationBatchSize); }
    var evalSeconds = test.Count / evalRate;
    Console.WriteLine($"   evaluation: {evalRate:F0} img/s ({evalSeconds:F1} s for {test.Count:N0} images, warm), × {evalRate / engineRate:F2} the engine's training throughput");

    foreach (var (key, value) in new Dictionary<string, object>
    {
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
        ["evalImagesPerSecond"] = Math.Round(evalRate),
        ["evalToTrain"] = Math.Round(evalRate / engineRate, 2),
        ["finalTestAccuracy"] = Math.Round(outcome.FinalEvaluation.Accuracy, 4),
        ["peakWorkingSetMB"] = Math.Round(peakMB),
        ["workingSetByEpochMB"] = recorder.WorkingSetMB.Select(m => Math.Round(m)).ToArray(),
    })
        result[key] = value;
}
pytorch?.Dispose();

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
    public static readonly string[] AllPhases = ["epochs", "pytorch", "evaluation"];
    public string[] Phases { get; init; } = AllPhases;
    public int? Rounds { get; init; }
    public int? CompareSteps { get; init; }
    public int[]? EvalBatches { get; init; }
    public int? TestImages { get; init; }

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
                "--phases" => o with { Phases = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "--rounds" => o with { Rounds = int.Parse(Value()) },
                "--compare-steps" => o with { CompareSteps = int.Parse(Value()) },
                "--eval-batches" => o with { EvalBatches = Value().Split(',').Select(int.Parse).ToArray() },
                "--test-images" => o with { TestImages = int.Parse(Value()) },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'. Options: --quick --data DIR --device D --threads N --architectures a,b --epochs N --quick-steps N "
                    + "--phases epochs,pytorch,evaluation --rounds N --compare-steps N --eval-batches a,b --test-images N"),
            };
        }
        foreach (var name in o.Architectures) ArchitectureCatalog.Get(name);
        if (o.Phases.Except(AllPhases).FirstOrDefault() is { } unknown)
            throw new ArgumentException($"Unknown phase '{unknown}'. Phases: {string.Join(", ", AllPhases)}");
        return o;
    }
}
