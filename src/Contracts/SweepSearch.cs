using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrainingService.Contracts;

/// <summary>How a sweep chooses its trials: every point of a grid, or trials drawn at random from a space.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SweepMethod>))]
public enum SweepMethod
{
    /// <summary>Every combination of the grid's values, in grid order.</summary>
    [JsonStringEnumMemberName("grid")] Grid,
    /// <summary><c>trials</c> points drawn from the space's distributions with the sweep's seed, when the sweep is created.</summary>
    [JsonStringEnumMemberName("random")] Random,
}

/// <summary>The distribution a random sweep draws one hyperparameter (or the architecture) from.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DistributionKind>))]
public enum DistributionKind
{
    /// <summary>One of the listed values, each as likely.</summary>
    [JsonStringEnumMemberName("choice")] Choice,
    /// <summary>A real number uniform in [low, high].</summary>
    [JsonStringEnumMemberName("uniform")] Uniform,
    /// <summary>A real number whose logarithm is uniform in [ln low, ln high] (0 &lt; low): learning rates, weight decay.</summary>
    [JsonStringEnumMemberName("logUniform")] LogUniform,
    /// <summary>A whole number uniform in low..high, both included.</summary>
    [JsonStringEnumMemberName("intRange")] IntRange,
}

/// <summary>
/// One dimension of a random sweep's space: the axis (a hyperparameter or <c>architecture</c>), its
/// distribution and that distribution's values — the choices, or <c>[low, high]</c> for the others.
/// </summary>
public sealed record SearchDimension(string Name, DistributionKind Distribution, IReadOnlyList<JsonElement> Values);

/// <summary>The rule that stops trials whose metric lags the others'.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EarlyStoppingKind>))]
public enum EarlyStoppingKind
{
    /// <summary>Asynchronous successive halving: at rung epochs r, rη, rη², … a trial continues only in the top 1/η of those that reached the rung.</summary>
    [JsonStringEnumMemberName("asha")] Asha,
    /// <summary>At each epoch from the grace period on, a trial below the median of the other trials at that epoch stops.</summary>
    [JsonStringEnumMemberName("median")] Median,
}

/// <summary>The per-epoch metric an early-stopping rule compares: accuracies are better high, losses low.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StoppingMetric>))]
public enum StoppingMetric
{
    [JsonStringEnumMemberName("testAccuracy")] TestAccuracy,
    [JsonStringEnumMemberName("testLoss")] TestLoss,
    [JsonStringEnumMemberName("trainAccuracy")] TrainAccuracy,
    [JsonStringEnumMemberName("trainLoss")] TrainLoss,
}

/// <summary>
/// A sweep's early-stopping rule with every parameter filled in: <see cref="GracePeriod"/> is ASHA's
/// first rung r, or the first epoch the median rule judges; <see cref="ReductionFactor"/> (η) is
/// ASHA's only; <see cref="MinTrials"/> (other trials needed at an epoch before it stops anything) the
/// median rule's only.
/// </summary>
public sealed record EarlyStoppingRule(EarlyStoppingKind Rule, StoppingMetric Metric, int GracePeriod, int ReductionFactor, int MinTrials)
{
    public const int DefaultGracePeriod = 1;
    public const int DefaultReductionFactor = 3;
    public const int DefaultMinTrials = 3;

    /// <summary>Whether a higher value of <see cref="Metric"/> is better (accuracies) or a lower one (losses).</summary>
    [JsonIgnore]
    public bool HigherIsBetter => Metric is StoppingMetric.TestAccuracy or StoppingMetric.TrainAccuracy;

    /// <summary>The metric's value in an epoch's record.</summary>
    public double ValueOf(Training.EpochMetrics metrics) => Metric switch
    {
        StoppingMetric.TestAccuracy => metrics.TestAccuracy,
        StoppingMetric.TestLoss => metrics.TestLoss,
        StoppingMetric.TrainAccuracy => metrics.TrainAccuracy,
        _ => metrics.TrainLoss,
    };
}

/// <summary>
/// How a sweep searches, beyond its base job: the method, a random sweep's space and seed, and the
/// early-stopping rule (none by default). A sweep stored before search existed reads as a grid
/// without early stopping.
/// </summary>
public sealed record SweepSearch
{
    public SweepMethod Method { get; init; } = SweepMethod.Grid;

    /// <summary>A random sweep's dimensions, in the order they were given (and drawn); empty for a grid.</summary>
    public IReadOnlyList<SearchDimension> Space { get; init; } = [];

    /// <summary>The seed a random sweep's trials were drawn with: the same space, trials and seed draw the same trials.</summary>
    public int? Seed { get; init; }

    public EarlyStoppingRule? EarlyStopping { get; init; }
}

/// <summary>
/// One judgement of an early-stopping rule: trial <see cref="Point"/> (its job <see cref="JobId"/>)
/// had <see cref="Value"/> at <see cref="Epoch"/> (a rung, or an epoch for the median rule), compared with
/// <see cref="Cutoff"/> computed over <see cref="Compared"/> other trials' values (null: too few to
/// judge, so it continued). <see cref="Stop"/> says what the rule decided. Stored once per (sweep,
/// trial, epoch): the first API process to decide it wins.
/// </summary>
public sealed record SweepDecision(int Point, Guid JobId, int Epoch, double Value, double? Cutoff, int Compared, bool Stop, DateTimeOffset DecidedAt);
