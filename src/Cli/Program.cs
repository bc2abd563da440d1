using TrainingService.Contracts.Datasets;
using System.Text.Json;
using System.Text.Json.Serialization;
using TrainingService.Cli;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.Data;
using TrainingService.Models.TensorBoard;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;

// The command-line face of the training engine: trains one architecture on MNIST (or Fashion-MNIST) with
// checkpoints, resumable by running the same command with the same --run-dir.

const string Usage = """
    usage:
      trainingservice train --architecture convnet|resnet18|attention [--dataset mnist|fashion-mnist] [--preset notebook]
          [--epochs N] [--batch-size N] [--learning-rate X] [--optimizer adam|adamw|sgd]
          [--weight-decay X] [--momentum X] [--lr-schedule constant|step|cosine|onecycle]
          [--step-epochs N] [--step-gamma X] [--seed N] [--device auto|cpu|cuda|cuda:N]
          [--train-subset N] [--normalization batch|layer|group|none]
          [--data DIR] [--run-dir DIR] [--threads N] [--no-download] [--json]
      trainingservice download [--data DIR]
      trainingservice architectures
      trainingservice keys create --name NAME [--admin]   (prints the new API key once)
      trainingservice keys list
      trainingservice keys revoke --id KEY-ID
          (keys use the service's store: Storage__PostgresConnectionString, else Storage__SqlitePath)
    """;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // stop at the next step boundary, checkpointed there, instead of dying mid-write
    cancellation.Cancel();
};

try
{
    return args.FirstOrDefault() switch
    {
        "train" => await TrainAsync(TrainCommand.Parse(args[1..]), cancellation.Token),
        "download" => await DownloadAsync(TrainCommand.ParseFlags(args[1..]), cancellation.Token),
        "architectures" => ListArchitectures(),
        "keys" => await KeysCommand.RunAsync(args[1..], Console.Out, Console.Error, cancellation.Token),
        _ => throw new UsageException(args.Length == 0 ? "A command is required." : $"Unknown command '{args[0]}'."),
    };
}
catch (UsageException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Usage);
    return 2;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("Stopped. Run the same command with the same --run-dir to resume from the last checkpoint.");
    return 130;
}
catch (System.Data.Common.DbException e)
{
    // keys: the store is unreachable or refuses; the message names the cause, never the connection string.
    Console.Error.WriteLine($"error: the job store cannot be used: {e.Message}");
    return 1;
}
catch (Exception e) when (e is TrainingException or DatasetFileException or CheckpointException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

static async Task<int> TrainAsync(TrainCommand command, CancellationToken cancellationToken)
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

static async Task<int> DownloadAsync(Dictionary<string, string?> flags, CancellationToken cancellationToken)
{
    var directory = flags.Remove("data", out var d) && d is not null ? d : TrainCommand.DefaultDataDirectory;
    if (flags.Count > 0) throw new UsageException($"Unknown option --{flags.Keys.First()}.");
    await EnsureDataAsync(directory, cancellationToken);
    Console.Error.WriteLine($"MNIST is complete in {Path.GetFullPath(directory)}");
    return 0;
}

static async Task EnsureDataAsync(string directory, CancellationToken cancellationToken)
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

static int ListArchitectures()
{
    foreach (var a in ArchitectureCatalog.All)
        Console.WriteLine($"{a.Name,-10} {a.ParameterCount,11:N0} parameters  {a.Description}");
    return 0;
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
