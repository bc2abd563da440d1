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

    /// <summary>When it was recorded (when its checkpoint was written). An epoch is recorded once; see <c>conflicts</c>.</summary>
    public required DateTimeOffset RecordedAt { get; init; }

    /// <summary>
    /// Which attempt trained the epoch and how many optimizer steps each attempt ran for it (they add
    /// up to the epoch's steps, ceil(trainSubset / batchSize), unless a step ran twice). Null for
    /// epochs recorded before the service recorded attempts, and in a checkpoint's metrics.
    /// </summary>
    public EpochTrainingResponse? Training { get; init; }

    /// <summary>
    /// Attempts that trained the epoch again after it was recorded, and tried to record it: kept
    /// here, never applied (the record above stands). Empty unless the epoch was trained twice,
    /// which the service must never do. Null in a checkpoint's metrics.
    /// </summary>
    public IReadOnlyList<EpochConflictResponse>? Conflicts { get; init; }

    public static EpochMetricsResponse Example { get; } = new()
    {
        Epoch = 1, TrainLoss = 0.2113, TrainAccuracy = 0.9351, TestLoss = 0.0468, TestAccuracy = 0.9847,
        LearningRate = 0.0017, EpochSeconds = 29.8, SamplesPerSecond = 2210.4,
        RecordedAt = new DateTimeOffset(2025, 11, 26, 15, 40, 32, TimeSpan.Zero),
        Training = EpochTrainingResponse.Example,
        Conflicts = [],
    };

    /// <summary>An epoch as recorded: with who trained it and any conflicting writes.</summary>
    public static EpochMetricsResponse From(EpochRecord record) => From(record.Metrics, record.RecordedAt) with
    {
        Training = record.Training is { } training ? EpochTrainingResponse.From(training) : null,
        Conflicts = [.. record.Conflicts.Select(EpochConflictResponse.From)],
    };

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

/// <summary>Who trained an epoch: the attempt that finished it, where it resumed, and the optimizer steps each attempt ran for it.</summary>
public sealed record EpochTrainingResponse : IOpenApiExample<EpochTrainingResponse>
{
    /// <summary>The attempt that finished the epoch, wrote its checkpoint and recorded it.</summary>
    public required int Attempt { get; init; }

    /// <summary>The step (0-based: the steps already done) it resumed at, from an earlier attempt's mid-epoch checkpoint; 0 when it trained the epoch from its start.</summary>
    public required int ResumedFromStep { get; init; }

    /// <summary>The optimizer steps that attempt ran for the epoch, counted as they ran.</summary>
    public required int StepsRun { get; init; }

    /// <summary>The steps the earlier attempts ran for the epoch before the mid-epoch checkpoint it resumed from, in order (attempt 0: a checkpoint from before steps were counted).</summary>
    public required IReadOnlyList<AttemptStepsResponse> EarlierAttempts { get; init; }

    /// <summary>The steps of all of them together: the epoch's ceil(trainSubset / batchSize) when no step ran twice.</summary>
    public required int TotalSteps { get; init; }

    public static EpochTrainingResponse Example { get; } = new()
    {
        Attempt = 2, ResumedFromStep = 48, StepsRun = 152, EarlierAttempts = [AttemptStepsResponse.Example], TotalSteps = 200,
    };

    public static EpochTrainingResponse From(EpochTraining training) => new()
    {
        Attempt = training.Attempt,
        ResumedFromStep = training.ResumedFromStep,
        StepsRun = training.StepsRun,
        EarlierAttempts = [.. training.EarlierAttempts.Select(a => new AttemptStepsResponse { Attempt = a.Attempt, Steps = a.Steps })],
        TotalSteps = training.TotalSteps(),
    };
}

/// <summary>The optimizer steps one attempt ran for an epoch.</summary>
public sealed record AttemptStepsResponse : IOpenApiExample<AttemptStepsResponse>
{
    /// <summary>The attempt (0: unknown, a checkpoint from before steps were counted).</summary>
    public required int Attempt { get; init; }

    /// <summary>Optimizer steps it ran.</summary>
    public required int Steps { get; init; }

    public static AttemptStepsResponse Example { get; } = new() { Attempt = 1, Steps = 48 };
}

/// <summary>A write of an epoch that was already recorded: another attempt trained it again.</summary>
public sealed record EpochConflictResponse : IOpenApiExample<EpochConflictResponse>
{
    /// <summary>Who trained it again, and how many steps.</summary>
    public required EpochTrainingResponse Training { get; init; }

    /// <summary>When that attempt tried to record it.</summary>
    public required DateTimeOffset RecordedAt { get; init; }

    public static EpochConflictResponse Example { get; } = new()
    {
        Training = new EpochTrainingResponse { Attempt = 3, ResumedFromStep = 0, StepsRun = 200, EarlierAttempts = [], TotalSteps = 200 },
        RecordedAt = new DateTimeOffset(2025, 11, 26, 15, 52, 10, TimeSpan.Zero),
    };

    public static EpochConflictResponse From(EpochConflict conflict) => new()
    {
        Training = EpochTrainingResponse.From(conflict.Training),
        RecordedAt = conflict.RecordedAt,
    };
}
