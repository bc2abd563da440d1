namespace TrainingService.Contracts.Training;

/// <summary>
/// Checks hyperparameters before anything runs. Errors are keyed by the camelCase field name a
/// client sent, so the API can hand them back as RFC 7807 validation problems unchanged.
/// </summary>
public static class HyperparameterValidator
{
    public static IReadOnlyDictionary<string, string[]> Validate(Hyperparameters h)
    {
        var errors = new Dictionary<string, List<string>>();
        void Fail(string field, string message)
        {
            if (!errors.TryGetValue(field, out var list)) errors[field] = list = [];
            list.Add(message);
        }

        if (h.Epochs is < 1 or > Hyperparameters.MaxEpochs)
            Fail("epochs", $"Must be between 1 and {Hyperparameters.MaxEpochs}; got {h.Epochs}.");
        if (h.BatchSize is < 1 or > Hyperparameters.MaxBatchSize)
            Fail("batchSize", $"Must be between 1 and {Hyperparameters.MaxBatchSize}; got {h.BatchSize}.");
        if (!double.IsFinite(h.LearningRate) || h.LearningRate <= 0 || h.LearningRate > 10)
            Fail("learningRate", $"Must be a finite number greater than 0 and at most 10; got {h.LearningRate}.");
        if (!Enum.IsDefined(h.Optimizer))
            Fail("optimizer", "Must be one of: adam, adamw, sgd.");
        if (!double.IsFinite(h.WeightDecay) || h.WeightDecay < 0 || h.WeightDecay > 1)
            Fail("weightDecay", $"Must be between 0 and 1; got {h.WeightDecay}.");
        if (!double.IsFinite(h.Momentum) || h.Momentum < 0 || h.Momentum >= 1)
            Fail("momentum", $"Must be at least 0 and below 1; got {h.Momentum}.");
        if (!Enum.IsDefined(h.LrSchedule))
            Fail("lrSchedule", "Must be one of: constant, step, cosine, onecycle.");
        if (h.StepEpochs is < 1 or > Hyperparameters.MaxEpochs)
            Fail("stepEpochs", $"Must be between 1 and {Hyperparameters.MaxEpochs}; got {h.StepEpochs}.");
        if (!double.IsFinite(h.StepGamma) || h.StepGamma <= 0 || h.StepGamma > 1)
            Fail("stepGamma", $"Must be greater than 0 and at most 1; got {h.StepGamma}.");
        if (h.Seed < 0)
            Fail("seed", $"Must be 0 or more; got {h.Seed}.");
        if (!DeviceNames.TryParse(h.Device, out _))
            Fail("device", $"Must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got '{h.Device}'.");
        if (h.Normalization is { } normalization && !Enum.IsDefined(normalization))
            Fail("normalization", "Must be one of: batch, layer, group, none.");
        if (h.TrainSubset is < 1 or > MnistSizes.TrainImages)
            Fail("trainSubset", $"Must be between 1 and {MnistSizes.TrainImages}, or omitted for the whole set; got {h.TrainSubset}.");

        return errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
    }
}

public static class MnistSizes
{
    public const int TrainImages = 60_000;
    public const int TestImages = 10_000;
}
