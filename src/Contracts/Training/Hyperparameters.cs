using System.Text.Json.Serialization;

namespace TrainingService.Contracts.Training;

[JsonConverter(typeof(JsonStringEnumConverter<OptimizerKind>))]
public enum OptimizerKind
{
    /// <summary>Adam, as the notebook uses.</summary>
    Adam,
    /// <summary>Adam with decoupled weight decay.</summary>
    AdamW,
    /// <summary>Stochastic gradient descent with momentum.</summary>
    Sgd,
}

[JsonConverter(typeof(JsonStringEnumConverter<LearningRateSchedule>))]
public enum LearningRateSchedule
{
    /// <summary>The learning rate never changes.</summary>
    Constant,
    /// <summary>Multiplied by <see cref="Hyperparameters.StepGamma"/> every <see cref="Hyperparameters.StepEpochs"/> epochs.</summary>
    Step,
    /// <summary>Cosine decay from the learning rate to zero over the whole run, stepped per batch.</summary>
    Cosine,
    /// <summary>Linear warm-up over the first 30 % of steps to the learning rate, then cosine decay, per batch.</summary>
    OneCycle,
}

/// <summary>
/// Which normalization layers an architecture uses, and where (README, "Architectures"). Every
/// architecture takes every kind; each has a default — the notebook's choice for it.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<NormalizationKind>))]
public enum NormalizationKind
{
    /// <summary>BatchNorm: each channel normalized over the batch (and its positions), with running statistics for evaluation.</summary>
    Batch,
    /// <summary>Each sample normalized on its own: over channels × height × width for feature maps, over the embedding for a token.</summary>
    Layer,
    /// <summary>GroupNorm with <c>NormalizationLayers.GroupCount</c> groups of channels, per sample (per token for attention).</summary>
    Group,
    /// <summary>No normalization layers.</summary>
    None,
}

/// <summary>
/// Everything that decides how a run trains: the one list of these fields. A submission overrides
/// some of them on the architecture's defaults (the others keep the defaults), the store keeps the
/// effective values, and responses show them. Immutable: a run's effective hyperparameters are
/// stored with its checkpoints and must not change under it.
/// </summary>
public sealed record Hyperparameters
{
    /// <summary>Epochs to train, 1–1000.</summary>
    public int Epochs { get; init; } = 3;

    /// <summary>Images per batch, 1–65,536.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Peak learning rate: a finite number above 0 and at most 10.</summary>
    public double LearningRate { get; init; } = 0.001;

    /// <summary><c>adam</c>, <c>adamw</c> or <c>sgd</c>.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>Weight decay, 0–1.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Momentum for <c>sgd</c>, at least 0 and below 1; ignored by the Adam family.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary><c>constant</c>, <c>step</c>, <c>cosine</c> or <c>onecycle</c>.</summary>
    public LearningRateSchedule LrSchedule { get; init; } = LearningRateSchedule.OneCycle;

    /// <summary>For the <c>step</c> schedule: epochs between decays, 1–1000.</summary>
    public int StepEpochs { get; init; } = 1;

    /// <summary>For the <c>step</c> schedule: the factor at each decay, above 0 and at most 1.</summary>
    public double StepGamma { get; init; } = 0.1;

    /// <summary>Random seed, 0 or more: the same seed on the same device gives the same run.</summary>
    public long Seed { get; init; } = 42;

    /// <summary><c>auto</c> (CUDA when the worker has it, else CPU), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>. Also picks the queue: <c>cuda…</c> → gpu, <c>cpu</c> → cpu, <c>auto</c> → default.</summary>
    public string Device { get; init; } = "auto";

    /// <summary><c>batch</c>, <c>layer</c>, <c>group</c> or <c>none</c>: the architecture's normalization layers (README, "Architectures", says where each goes). Defaults to the notebook's: none for convnet, batch for resnet18, layer for attention; every stored job names it.</summary>
    public NormalizationKind? Normalization { get; init; }

    /// <summary>Train on only the first N training images (1–60,000, and at most the dataset's count); null for all.</summary>
    public int? TrainSubset { get; init; }

    public const int MaxEpochs = 1000;
    public const int MaxBatchSize = 65_536;
}
