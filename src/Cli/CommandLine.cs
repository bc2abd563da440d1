using System.Globalization;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Datasets;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;

namespace TrainingService.Cli;

/// <summary>A usage error: the message is shown with the usage text and the process exits with 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The settings of one <c>train</c> command, from flags over environment variables over defaults.</summary>
internal sealed record TrainCommand(
    ArchitectureInfo Architecture,
    DatasetInfo Dataset,
    Hyperparameters Hyperparameters,
    string DataDirectory,
    string RunDirectory,
    int Threads,
    bool Download,
    bool Json)
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

    public static TrainCommand Parse(IReadOnlyList<string> args)
    {
        var flags = ParseFlags(args);
        string? Take(string name) => flags.Remove(name, out var value) ? value : null;

        var architectureName = Take("architecture") ?? throw new UsageException("--architecture is required (convnet, resnet18 or attention).");
        var architecture = ArchitectureCatalog.Find(architectureName)
            ?? throw new UsageException($"--architecture: unknown '{architectureName}'; expected one of: {string.Join(", ", ArchitectureCatalog.All.Select(a => a.Name))}.");
        var datasetName = Take("dataset") ?? DatasetCatalog.DefaultName;
        var dataset = DatasetCatalog.Find(datasetName)
            ?? throw new UsageException($"--dataset: unknown '{datasetName}'; expected one of: {DatasetCatalog.Names} (uploaded datasets train through the service).");
        if (architecture.GeometryProblem(dataset.Geometry, dataset.Name) is { } unsupported)
            throw new UsageException($"--dataset: {unsupported}");
        var h = Take("preset") switch
        {
            null => architecture.Defaults,
            "notebook" => ArchitectureCatalog.NotebookPreset,
            var other => throw new UsageException($"--preset: unknown '{other}'; the only preset is 'notebook'."),
        };

        h = h with
        {
            Epochs = Int(Take("epochs"), "epochs") ?? h.Epochs,
            BatchSize = Int(Take("batch-size"), "batch-size") ?? h.BatchSize,
            LearningRate = Double(Take("learning-rate"), "learning-rate") ?? h.LearningRate,
            Optimizer = Enum<OptimizerKind>(Take("optimizer"), "optimizer") ?? h.Optimizer,
            WeightDecay = Double(Take("weight-decay"), "weight-decay") ?? h.WeightDecay,
            Momentum = Double(Take("momentum"), "momentum") ?? h.Momentum,
            LrSchedule = Enum<LearningRateSchedule>(Take("lr-schedule"), "lr-schedule") ?? h.LrSchedule,
            StepEpochs = Int(Take("step-epochs"), "step-epochs") ?? h.StepEpochs,
            StepGamma = Double(Take("step-gamma"), "step-gamma") ?? h.StepGamma,
            Seed = Long(Take("seed"), "seed") ?? h.Seed,
            Device = Take("device") ?? h.Device,
            TrainSubset = Int(Take("train-subset"), "train-subset") ?? h.TrainSubset,
            Normalization = Enum<NormalizationKind>(Take("normalization"), "normalization") ?? h.Normalization,
        };
        h = architecture.WithNormalizationNamed(h);
        var errors = HyperparameterValidator.Validate(h);
        if (errors.Count > 0)
            throw new UsageException(string.Join(Environment.NewLine, errors.Select(e => $"--{Kebab(e.Key)}: {string.Join(" ", e.Value)}")));

        var checkpointRoot = Environment.GetEnvironmentVariable(CheckpointRootVariable) is { Length: > 0 } root ? root : "./data/checkpoints";
        var command = new TrainCommand(
            architecture,
            dataset,
            h,
            Take("data") ?? DefaultDirectoryOf(dataset),
            Take("run-dir") ?? Path.Combine(checkpointRoot, $"{architecture.Name}-{(dataset.Name == DatasetCatalog.MnistName ? "" : dataset.Name + "-")}{DateTime.UtcNow:yyyyMMdd-HHmmss}"),
            Int(Take("threads"), "threads") ?? Int(Environment.GetEnvironmentVariable(ThreadsVariable), ThreadsVariable) ?? Environment.ProcessorCount,
            // Only MNIST is downloaded; Fashion-MNIST comes from Debian's package.
            Download: !Switch(flags, "no-download") && dataset.Name == DatasetCatalog.MnistName,
            Json: Switch(flags, "json"));
        if (command.Threads < 1) throw new UsageException("--threads: must be at least 1.");
        if (flags.Count > 0) throw new UsageException($"Unknown option --{flags.Keys.First()}.");
        return command;
    }

    /// <summary>Parses <c>--name value</c> pairs and bare switches (<c>--json</c>) into a dictionary.</summary>
    public static Dictionary<string, string?> ParseFlags(IReadOnlyList<string> args)
    {
        var flags = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || args[i].Length == 2)
                throw new UsageException($"Unexpected argument '{args[i]}'.");
            var name = args[i][2..];
            var value = i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null;
            if (!flags.TryAdd(name, value)) throw new UsageException($"--{name} is given twice.");
        }
        return flags;
    }

    private static bool Switch(Dictionary<string, string?> flags, string name)
    {
        if (!flags.Remove(name, out var value)) return false;
        return value is null ? true : throw new UsageException($"--{name} takes no value.");
    }

    private static int? Int(string? text, string name) => text is null ? null
        : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new UsageException($"--{name}: '{text}' is not a whole number.");

    private static long? Long(string? text, string name) => text is null ? null
        : long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new UsageException($"--{name}: '{text}' is not a whole number.");

    private static double? Double(string? text, string name) => text is null ? null
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new UsageException($"--{name}: '{text}' is not a number.");

    private static TEnum? Enum<TEnum>(string? text, string name) where TEnum : struct, System.Enum =>
        text is null ? null
        : System.Enum.TryParse<TEnum>(text, ignoreCase: true, out var v) && System.Enum.IsDefined(v) && !char.IsDigit(text[0]) ? v
        : throw new UsageException($"--{name}: '{text}' is not one of: {string.Join(", ", System.Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}.");

    private static string Kebab(string camel) => string.Concat(camel.Select(c => char.IsUpper(c) ? "-" + char.ToLowerInvariant(c) : c.ToString()));
}
