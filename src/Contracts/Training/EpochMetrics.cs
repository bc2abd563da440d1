namespace TrainingService.Contracts.Training;

/// <summary>One epoch's record. Accuracies are fractions (0.9921), losses mean cross-entropy per image.</summary>
public sealed record EpochMetrics(
    int Epoch,
    double TrainLoss,
    double TrainAccuracy,
    double TestLoss,
    double TestAccuracy,
    double LearningRate,
    double EpochSeconds,
    double SamplesPerSecond);
