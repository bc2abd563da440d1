using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Contracts.Datasets;
using TrainingService.Contracts.Training;
using TrainingService.Models.Architectures;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.Data;
using TrainingService.Models.TensorBoard;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Cli.Commands;

/// <summary>The settings of one <c>train</c> run, from options over environment variables over defaults.</summary>
internal sealed record TrainSettings(
    ArchitectureInfo Architecture, DatasetInfo Dataset, Hyperparameters Hyperparameters, string DataDirectory, string RunDirectory, int Threads, bool Download, bool Json);

/// <summary>
/// <c>trainingservice train</c>: the training engine on this machine, one architecture on a built-in dataset with
/// checkpoints, resumable by running the same command with the same <c>--run-dir</c>.
/// </summary>
internal static class TrainCommand
{
    public const string DataDirectoryVariable = "Mnist__DataDirectory";
    public const string FashionMnistDirectoryVariable = "Datasets__FashionMnistDirectory";
    public const string CheckpointRootVariable = "Checkpoints__Root";
    public const string ThreadsVariable = "Training__Threads";

    public static string DefaultDataDirectory => Environment.GetEnvironmentVariable(DataDirectoryVariable) is { Length: > 0 } d ? d : DatasetCatalog.Mnist.DefaultDirectory!;

    /// <summary>Where a built-in dataset's files are unless --data says: the service's setting for it, else the catalogue's folder.</summary>
    public static string DefaultDirectoryOf(DatasetInfo dataset) => dataset.Name == DatasetCatalog.MnistName
        ? DefaultDataDirectory
        : Environment.GetEnvironmentVariable(FashionMnistDirectoryVariable) is { Length: > 0 } d ? d : dataset.DefaultDirectory!;

    public static Command Create()
    {
        var architecture = new Option<string>("--architecture") { Description = "convnet, resnet18 or attention", Required = true };
        architecture.AcceptOnlyFromAmong([.. ArchitectureCatalog.All.Select(a => a.Name)]);
        var dataset = new Option<string>("--dataset") { Description = $"a built-in dataset: {DatasetCatalog.Names} (default {DatasetCatalog.DefaultName}; uploaded datasets train through the service)" };
        dataset.AcceptOnlyFromAmong([.. DatasetCatalog.All.Select(d => d.Name)]);
        var preset = new Option<string>("--preset") { Description = "notebook: the notebook's own settings (Adam, lr 0.01, batch 64, 20 epochs)" };
        preset.AcceptOnlyFromAmong("notebook");
        var hyperparameters = new HyperparameterOptions();
        var data = new Option<string>("--data") { Description = $"the dataset's folder (default for MNIST ${DataDirectoryVariable} or ./data/mnist, for Fashion-MNIST ${FashionMnistDirectoryVariable} or Debian's folder)" };
        var runDirectory = new Option<string>("--run-dir") { Description = "the run's checkpoint folder; the same folder resumes a run (default under $Checkpoints__Root)" };
        var threads = new Option<int?>("--threads") { Description = $"libtorch CPU threads (default ${ThreadsVariable} or one per core)" };
        var noDownload = new Option<bool>("--no-download") { Description = "fail instead of downloading missing MNIST files (Fashion-MNIST is never downloaded: it comes from Debian's dataset-fashion-mnist)" };
        var json = new Option<bool>("--json") { Description = "one JSON object per epoch on stdout" };

        var command = new Command("train", "Train an architecture on MNIST or Fashion-MNIST on this machine, with checkpoints (Ctrl+C stops at a step boundary; run again to resume).")
        {
            architecture, dataset, preset, data, runDirectory, threads, noDownload, json,
        };
        foreach (var option in hyperparameters.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) =>
        {
            var info = ArchitectureCatalog.Get(parse.GetRequiredValue(architecture));
            var datasetInfo = DatasetCatalog.Find(parse.GetValue(dataset) ?? DatasetCatalog.DefaultName)!;
            if (info.GeometryProblem(datasetInfo.Geometry, datasetInfo.Name) is { } unsupported)
                throw new UsageException($"--dataset: {unsupported}");
            var defaults = parse.GetValue(preset) == "notebook" ? ArchitectureCatalog.NotebookPreset : info.Defaults;
            var h = info.WithNormalizationNamed(hyperparameters.Apply(defaults, parse));
            var checkpointRoot = Environment.GetEnvironmentVariable(CheckpointRootVariable) is { Length: > 0 } root ? root : "./data/checkpoints";
            var threadCount = parse.GetValue(threads) ?? ThreadsFromEnvironment() ?? Environment.ProcessorCount;
            if (threadCount < 1) throw new UsageException("--threads: must be at least 1.");
            return TrainAsync(new TrainSettings(
                info, datasetInfo, h,
                parse.GetValue(data) ?? DefaultDirectoryOf(datasetInfo),
                parse.GetValue(runDirectory) ?? Path.Combine(checkpointRoot, $"{info.Name}-{(datasetInfo.Name == DatasetCatalog.MnistName ? "" : datasetInfo.Name + "-")}{DateTime.UtcNow:yyyyMMdd-HHmmss}"),
                threadCount,
                // Only MNIST is downloaded; Fashion-MNIST comes from Debian's package.
                Download: !parse.GetValue(noDownload) && datasetInfo.Name == DatasetCatalog.MnistName,
                Json: parse.GetValue(json)), cancellationToken);
        });
        return command;
    }

    private static int? ThreadsFromEnvironment() =>
        Environment.GetEnvironmentVariable(ThreadsVariable) is { Length: > 0 } text
            ? int.TryParse(text, out var n) ? n : throw new UsageException($"{ThreadsVariable}: '{text}' is not a whole number.")
            : null;

    private static async Task<int> TrainAsync(TrainSettings command, CancellationToken cancellationToken)
    {
        set_num_threads(command.Threads);
        var device = Devices.Resolve(command.Hyperparameters.Device);
        if (command.Download) await EnsureDataAsync(command.DataDirectory, cancellationToken);

        var h = command.Hyperparameters;
        Console.Error.WriteLine($"{command.Architecture.Name} on {command.Dataset.Title} ({Path.GetFullPath(command.DataDirectory)}), {Devices.Describe(device)} ({get_num_threads()} threads), run folder {Path.GetFullPath(command.RunDirectory)}");
        Console.Error.WriteLine($"hyperparameters: {JsonSerializer.Serialize(h, CheckpointJson.Options)}");

        using var train = ImageTensors.Load(command.DataDirectory, command.Dataset, DatasetSplit.Train, device, h.TrainSubset);
        using var test = ImageTensors.Load(command.DataDirectory, command.Dataset, DatasetSplit.Test, device);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var checkpoints = new CheckpointStore(command.RunDirectory);
        // The TensorBoard file gets each epoch once its checkpoint is written; a resumed run first
        // adds checkpointed epochs the file lacks (it skips those it has).
        var tensorBoard = TensorBoardEventFile.OpenInFolder(command.RunDirectory, DateTimeOffset.UtcNow);
        foreach (var manifest in checkpoints.List())
            if (manifest.Metrics is { } metrics) tensorBoard.WriteEpoch(metrics, manifest.CreatedAt);
        var outcome = CheckpointedTraining.Run(
            new TrainingPlan(command.Architecture, h, device), train, test, checkpoints,
            new ConsoleReporter(command.Json, checkpoints, tensorBoard), cancellationToken,
            // Ctrl+C suspends: the same command run again continues at the step it stopped at.
            suspend: cancellationToken);

        var best = outcome.Best;
        Console.Error.WriteLine(
            $"done in {clock.Elapsed.TotalSeconds:F0} s: final test accuracy {outcome.FinalEvaluation.Accuracy:P2} (loss {outcome.FinalEvaluation.Loss:F4}), " +
            $"best {best.TestAccuracy:P2} at epoch {best.Epoch}; checkpoints in {Path.GetFullPath(command.RunDirectory)}");
        return 0;
    }

    internal static async Task EnsureDataAsync(string directory, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var lastShown = new Dictionary<string, long>();
        var progress = new Progress<DownloadProgress>(p =>
        {
            // One line per file per ~10 % (or per MB when the size is unknown), so logs stay readable.
            var step = p.TotalBytes is > 0 ? p.TotalBytes.Value / 10 : 1 << 20;
            if (lastShown.TryGetValue(p.FileName, out var shown) && p.BytesReceived - shown < step && p.BytesReceived != p.TotalBytes) return;
            lastShown[p.FileName] = p.BytesReceived;
            var total = p.TotalBytes is > 0 ? $" of {p.TotalBytes.Value / 1024} KiB" : "";
            Console.Error.WriteLine($"downloading {p.FileName} from {p.Source.Host}: {p.BytesReceived / 1024} KiB{total}");
        });
        await MnistDownloader.EnsureAsync(directory, MnistDownloader.DefaultMirrors, http, progress, cancellationToken);
    }
}

internal sealed class ConsoleReporter(bool json, CheckpointStore checkpoints, TensorBoardEventFile tensorBoard) : ITrainingObserver
{
    private static readonly JsonSerializerOptions JsonLines = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly bool interactive = !Console.IsErrorRedirected;

    public void OnProgress(TrainingProgress p)
    {
        if (!interactive) return;
        Console.Error.Write($"\r  epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch}  loss {p.RunningLoss:F4}  acc {p.RunningAccuracy:P2}  {p.SamplesPerSecond:F0} img/s  ETA {p.EstimatedRemaining:hh\\:mm\\:ss}   ");
    }

    public void OnEpochCompleted(CompletedEpoch epoch)
    {
        var m = epoch.Metrics;
        // CheckpointedTraining has saved the epoch's checkpoint before calling observers: its time is the epoch's end.
        tensorBoard.WriteEpoch(m, checkpoints.Resolve(m.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture))?.CreatedAt ?? DateTimeOffset.UtcNow);
        if (interactive) Console.Error.Write("\r" + new string(' ', 100) + "\r");
        Console.WriteLine(json
            ? JsonSerializer.Serialize(m, JsonLines)
            : $"epoch {m.Epoch,3}  train loss {m.TrainLoss:F4} acc {m.TrainAccuracy:P2}  test loss {m.TestLoss:F4} acc {m.TestAccuracy:P2}  lr {m.LearningRate:G3}  {m.EpochSeconds,6:F1} s  {m.SamplesPerSecond,6:F0} img/s");
    }
}
