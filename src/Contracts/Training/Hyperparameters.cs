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
/// Everything that decides how a run trains. Immutable: a run's effective hyperparameters are
/// stored with its checkpoints and must not change under it.
/// </summary>
public sealed record Hyperparameters
{
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 0.001;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    public double WeightDecay { get; init; }
    /// <summary>Momentum for <see cref="OptimizerKind.Sgd"/>; ignored by the Adam family.</summary>
    public double Momentum { get; init; } = 0.9;
    public LearningRateSchedule LrSchedule { get; init; } = LearningRateSchedule.OneCycle;
    /// <summary>For the step schedule: how many epochs between decays.</summary>
    public int StepEpochs { get; init; } = 1;
    /// <summary>For the step schedule: the factor applied at each decay.</summary>
    public double StepGamma { get; init; } = 0.1;
    public long Seed { get; init; } = 42;
    /// <summary><c>auto</c> (CUDA when available, else CPU), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "auto";
    /// <summary>
    /// The architecture's normalization layers. Null means the architecture's default (what the
    /// notebook does: none for convnet, batch for resnet18, layer for attention); the catalog's
    /// defaults, and so every job the API creates, name it explicitly.
    /// </summary>
    public NormalizationKind? Normalization { get; init; }
    /// <summary>Train on only the first N training images (quick runs); null trains on all 60,000.</summary>
    public int? TrainSubset { get; init; }

    public const int MaxEpochs = 1000;
    public const int MaxBatchSize = 65_536;
}
