using TrainingService.Contracts.Datasets;
using TrainingService.Contracts.Training;

namespace TrainingService.Contracts.Architectures;

/// <summary>
/// What the service knows about one architecture it can train, as data: the API lists and
/// validates against it without loading any model code; the worker builds the model by
/// <see cref="Name"/> (TrainingService.Models' <c>ArchitectureModels</c>). <see cref="Defaults"/>
/// always names a normalization: the architecture's default, which a hyperparameter set without
/// one gets.
/// </summary>
public sealed record ArchitectureInfo(
    string Name,
    string Description,
    IReadOnlyDictionary<NormalizationKind, long> ParameterCounts,
    Hyperparameters Defaults)
{
    /// <summary>The normalization the notebook gives this architecture.</summary>
    public NormalizationKind DefaultNormalization =>
        Defaults.Normalization ?? throw new InvalidOperationException($"{Name}'s defaults name no normalization.");

    /// <summary>Trainable parameters with the default normalization.</summary>
    public long ParameterCount => ParameterCounts[DefaultNormalization];

    /// <summary>The normalization a run with these hyperparameters uses: theirs, or this architecture's default.</summary>
    public NormalizationKind NormalizationOf(Hyperparameters hyperparameters) =>
        hyperparameters.Normalization ?? DefaultNormalization;

    /// <summary>The hyperparameters with the normalization named, so what is stored says what was built.</summary>
    public Hyperparameters WithNormalizationNamed(Hyperparameters hyperparameters) =>
        hyperparameters with { Normalization = NormalizationOf(hyperparameters) };

    /// <summary>
    /// The dataset geometries a model of this architecture can be built for: it takes its input
    /// size, channels and class count from the dataset, and these are the ones its layers fit
    /// (every architecture here: 28×28 grey images in 10 classes, MNIST's and Fashion-MNIST's).
    /// </summary>
    public IReadOnlyList<ImageGeometry> Geometries { get; init; } = [ImageGeometry.Mnist];

    public bool Supports(ImageGeometry geometry) => Geometries.Contains(geometry);

    /// <summary>Why a dataset of <paramref name="geometry"/> cannot be used, naming what is supported; null when it can.</summary>
    public string? GeometryProblem(ImageGeometry geometry, string dataset) =>
        Supports(geometry) ? null
        : $"{Name} takes {string.Join(" or ", Geometries)}; dataset {dataset} has {geometry}.";
}

/// <summary>The three architectures, by the names jobs use: <c>convnet</c>, <c>resnet18</c>, <c>attention</c>.</summary>
public static class ArchitectureCatalog
{
    public const string ConvNetName = "convnet";
    public const string ResNet18Name = "resnet18";
    public const string AttentionName = "attention";

    // Defaults chosen to reach the target accuracies on MNIST (README, "Accuracy") in the fewest
    // epochs; the notebook's own settings are the "notebook" preset.
    public static readonly ArchitectureInfo ConvNet = new(
        ConvNetName,
        "The notebook's simple CNN: three Conv3x3-ReLU-MaxPool blocks (32, 64, 128 channels), then Linear(1152, 256), ReLU, Dropout(0.5), Linear(256, 10).",
        Counts(none: 390_410, batch: 390_858, layer: 390_858, group: 390_858),
        new Hyperparameters
        {
            Epochs = 3, BatchSize = 128, LearningRate = 0.002, Optimizer = OptimizerKind.Adam, LrSchedule = LearningRateSchedule.OneCycle,
            Normalization = NormalizationKind.None,
        });

    public static readonly ArchitectureInfo ResNet18 = new(
        ResNet18Name,
        "The notebook's ResNet18 (BasicBlock, [2, 2, 2, 2]) with BatchNorm, a 7x7 stride-2 stem taking 1 channel, and a 10-class head.",
        Counts(none: 11_165_834, batch: 11_175_434, layer: 11_175_434, group: 11_175_434),
        new Hyperparameters
        {
            Epochs = 2, BatchSize = 128, LearningRate = 0.002, Optimizer = OptimizerKind.Adam, LrSchedule = LearningRateSchedule.OneCycle,
            Normalization = NormalizationKind.Batch,
        });

    public static readonly ArchitectureInfo Attention = new(
        AttentionName,
        "The notebook's single-head self-attention in a small classifier: 16 patches of 7x7 embedded to 128, learned positions, one pre-norm attention + MLP block with LayerNorm, mean pooling, linear head.",
        Counts(none: 190_986, batch: 191_754, layer: 191_754, group: 191_754),
        new Hyperparameters
        {
            Epochs = 10, BatchSize = 128, LearningRate = 0.002, Optimizer = OptimizerKind.AdamW, WeightDecay = 0.05, LrSchedule = LearningRateSchedule.OneCycle,
            Normalization = NormalizationKind.Layer,
        });

    // Pinned by ArchitectureTests (TrainingService.Models.Tests), which builds each model and counts: a normalization changes only the norms' weights and biases
    // (running statistics are buffers, not parameters).
    private static Dictionary<NormalizationKind, long> Counts(long none, long batch, long layer, long group) => new()
    {
        [NormalizationKind.None] = none,
        [NormalizationKind.Batch] = batch,
        [NormalizationKind.Layer] = layer,
        [NormalizationKind.Group] = group,
    };

    public static IReadOnlyList<ArchitectureInfo> All { get; } = [ConvNet, ResNet18, Attention];

    public static ArchitectureInfo? Find(string? name) =>
        All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.Ordinal));

    public static ArchitectureInfo Get(string name) =>
        Find(name) ?? throw new ArgumentException(
            $"Unknown architecture '{name}'; expected one of: {string.Join(", ", All.Select(a => a.Name))}.", nameof(name));

    /// <summary>
    /// The notebook's own training settings for the CNN: Adam at lr 0.01, batch 64, 20 epochs, no
    /// schedule. It names no normalization, so each architecture keeps the notebook's own.
    /// </summary>
    public static Hyperparameters NotebookPreset { get; } = new()
    {
        Epochs = 20, BatchSize = 64, LearningRate = 0.01, Optimizer = OptimizerKind.Adam, LrSchedule = LearningRateSchedule.Constant,
    };
}
