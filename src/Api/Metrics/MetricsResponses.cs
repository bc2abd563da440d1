using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Metrics;

/// <summary>One epoch's record, as the worker wrote it. Accuracies are fractions; losses are mean cross-entropy per image.</summary>
public sealed record EpochMetricsResponse : IOpenApiExample<EpochMetricsResponse>
{
    /// <summary>The epoch (1-based).</summary>
    public required int Epoch { get; init; }

    /// <summary>Mean training loss over the epoch.</summary>
    public required double TrainLoss { get; init; }

    /// <summary>Training accuracy over the epoch.</summary>
    public required double TrainAccuracy { get; init; }

    /// <summary>Loss on the 10,000-image test set after the epoch.</summary>
    public required double TestLoss { get; init; }

    /// <summary>Accuracy on the test set after the epoch.</summary>
    public required double TestAccuracy { get; init; }

    /// <summary>The learning rate of the epoch's last step.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Seconds the epoch took, training and evaluation.</summary>
    public required double EpochSeconds { get; init; }

    /// <summary>Training images per second.</summary>
    public required double SamplesPerSecond { get; init; }

    /// <summary>When it was recorded. A resumed run that re-runs an epoch replaces its record, with a new time.</summary>
    public required DateTimeOffset RecordedAt { get; init; }

    public static EpochMetricsResponse Example { get; } = new()
    {
        Epoch = 1, TrainLoss = 0.2113, TrainAccuracy = 0.9351, TestLoss = 0.0468, TestAccuracy = 0.9847,
        LearningRate = 0.0017, EpochSeconds = 29.8, SamplesPerSecond = 2210.4,
        RecordedAt = new DateTimeOffset(2025, 11, 26, 15, 40, 32, TimeSpan.Zero),
    };

    public static EpochMetricsResponse From(EpochRecord record) => From(record.Metrics, record.RecordedAt);

    /// <summary>For metrics kept with a checkpoint, recorded when the checkpoint was written.</summary>
    public static EpochMetricsResponse From(EpochMetrics metrics, DateTimeOffset recordedAt) => new()
    {
        Epoch = metrics.Epoch,
        TrainLoss = metrics.TrainLoss,
        TrainAccuracy = metrics.TrainAccuracy,
        TestLoss = metrics.TestLoss,
        TestAccuracy = metrics.TestAccuracy,
        LearningRate = metrics.LearningRate,
        EpochSeconds = metrics.EpochSeconds,
        SamplesPerSecond = metrics.SamplesPerSecond,
        RecordedAt = recordedAt,
    };
}
