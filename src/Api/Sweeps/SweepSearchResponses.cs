using System.Text.Json;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Sweeps;

/// <summary>One dimension of a random sweep's space.</summary>
public sealed record SearchDimensionResponse : IOpenApiExample<SearchDimensionResponse>
{
    public required string Name { get; init; }

    /// <summary><c>choice</c>, <c>uniform</c>, <c>logUniform</c> or <c>intRange</c>.</summary>
    public required DistributionKind Distribution { get; init; }

    /// <summary>The choices, or <c>[low, high]</c>.</summary>
    public required IReadOnlyList<JsonElement> Values { get; init; }

    public static SearchDimensionResponse Example { get; } = new()
    {
        Name = "learningRate",
        Distribution = DistributionKind.LogUniform,
        Values = [JsonSerializer.SerializeToElement(0.0003), JsonSerializer.SerializeToElement(0.01)],
    };
}

/// <summary>The sweep's early-stopping rule, with its defaults filled in.</summary>
public sealed record EarlyStoppingResponse : IOpenApiExample<EarlyStoppingResponse>
{
    /// <summary><c>asha</c> or <c>median</c>.</summary>
    public required EarlyStoppingKind Rule { get; init; }

    /// <summary><c>testAccuracy</c>, <c>testLoss</c>, <c>trainAccuracy</c> or <c>trainLoss</c>.</summary>
    public required StoppingMetric Metric { get; init; }

    /// <summary>ASHA's first rung, or the first epoch the median rule judges.</summary>
    public required int GracePeriod { get; init; }

    /// <summary>ASHA's η; null for the median rule.</summary>
    public required int? ReductionFactor { get; init; }

    /// <summary>The median rule's minimum of other trials at an epoch; null for ASHA.</summary>
    public required int? MinTrials { get; init; }

    public static EarlyStoppingResponse Example { get; } = new()
    {
        Rule = EarlyStoppingKind.Asha, Metric = StoppingMetric.TestAccuracy, GracePeriod = 1, ReductionFactor = 3, MinTrials = null,
    };

    public static EarlyStoppingResponse? Of(EarlyStoppingRule? rule) => rule is null ? null : new()
    {
        Rule = rule.Rule,
        Metric = rule.Metric,
        GracePeriod = rule.GracePeriod,
        ReductionFactor = rule.Rule == EarlyStoppingKind.Asha ? rule.ReductionFactor : null,
        MinTrials = rule.Rule == EarlyStoppingKind.Median ? rule.MinTrials : null,
    };
}

/// <summary>One judgement of the early-stopping rule on a trial: its value at a rung (or epoch) against the cutoff there.</summary>
public sealed record SweepRungResponse : IOpenApiExample<SweepRungResponse>
{
    /// <summary>The epoch judged: an ASHA rung, or an epoch of the median rule.</summary>
    public required int Epoch { get; init; }

    /// <summary>The trial's metric at that epoch.</summary>
    public required double Value { get; init; }

    /// <summary>The value it had to reach (at least, for an accuracy; at most, for a loss) to continue; null when there was nothing to compare with yet.</summary>
    public required double? Cutoff { get; init; }

    /// <summary>How many other trials' values the cutoff was computed over.</summary>
    public required int Compared { get; init; }

    /// <summary><c>continue</c> or <c>stop</c>.</summary>
    public required string Decision { get; init; }

    public required DateTimeOffset DecidedAt { get; init; }

    public static SweepRungResponse Example { get; } = new()
    {
        Epoch = 1, Value = 0.9612, Cutoff = 0.9701, Compared = 4, Decision = "stop",
        DecidedAt = new DateTimeOffset(2026, 11, 26, 9, 3, 12, TimeSpan.Zero),
    };
}

/// <summary>A trial's test metrics at one epoch: a point of its learning curve.</summary>
public sealed record SweepCurvePoint(int Epoch, double TestAccuracy, double TestLoss) : IOpenApiExample<SweepCurvePoint>
{
    public static SweepCurvePoint Example { get; } = new(1, 0.9612, 0.1231);
}

/// <summary>The trial that reached the highest test accuracy (at any epoch) so far, and all its settings.</summary>
public sealed record SweepBestResponse : IOpenApiExample<SweepBestResponse>
{
    public required int Point { get; init; }

    public required Guid JobId { get; init; }

    public required JobStatus Status { get; init; }

    /// <summary>Axis → value: what the sweep varied.</summary>
    public required IReadOnlyDictionary<string, JsonElement> Values { get; init; }

    public required string Architecture { get; init; }

    /// <summary>Every setting the trial trained with (its job's effective hyperparameters).</summary>
    public required Hyperparameters Hyperparameters { get; init; }

    public required double BestTestAccuracy { get; init; }

    public required int BestEpoch { get; init; }

    /// <summary>Its last epoch's test accuracy.</summary>
    public required double FinalTestAccuracy { get; init; }

    public static SweepBestResponse Example { get; } = new()
    {
        Point = 3,
        JobId = Guid.Parse("0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e"),
        Status = JobStatus.Succeeded,
        Values = new Dictionary<string, JsonElement> { ["learningRate"] = JsonSerializer.SerializeToElement(0.0021) },
        Architecture = "convnet",
        Hyperparameters = new Hyperparameters { LearningRate = 0.0021, Normalization = NormalizationKind.None },
        BestTestAccuracy = 0.9897,
        BestEpoch = 3,
        FinalTestAccuracy = 0.9897,
    };
}
