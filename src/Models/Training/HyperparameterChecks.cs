using TrainingService.Contracts.Training;

namespace TrainingService.Models.Training;

public static class HyperparameterChecks
{
    /// <summary>
    /// Throws <see cref="TrainingException"/> listing every problem <see cref="HyperparameterValidator"/>
    /// finds, for callers without a problem-details channel (the engine, the CLI).
    /// </summary>
    public static void EnsureValid(Hyperparameters h)
    {
        var errors = HyperparameterValidator.Validate(h);
        if (errors.Count > 0)
            throw new TrainingException(TrainingFailureKind.InvalidInput,
                "Invalid hyperparameters: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
    }
}
