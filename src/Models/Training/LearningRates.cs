using TrainingService.Contracts.Training;

namespace TrainingService.Models.Training;

/// <summary>
/// The learning rate as a pure function of the position in the run. Computing it rather than
/// stepping a stateful scheduler means a resumed run gets exactly the rates an uninterrupted
/// one would, with no scheduler state to checkpoint.
/// </summary>
public static class LearningRates
{
    /// <summary>One-cycle warms up over this fraction of all steps (PyTorch's OneCycleLR default).</summary>
    public const double OneCycleWarmupFraction = 0.3;

    /// <summary>One-cycle starts at the learning rate divided by this (PyTorch's default div_factor).</summary>
    public const double OneCycleInitialDivisor = 25;

    /// <param name="step">0-based index of the optimizer step within the whole run.</param>
    public static double At(Hyperparameters hyperparameters, long step, long stepsPerEpoch)
    {
        var peak = hyperparameters.LearningRate;
        var totalSteps = Math.Max(1, stepsPerEpoch * hyperparameters.Epochs);
        var progress = Math.Clamp((double)step / totalSteps, 0, 1);
        return hyperparameters.LrSchedule switch
        {
            LearningRateSchedule.Constant => peak,
            LearningRateSchedule.Step => peak * Math.Pow(hyperparameters.StepGamma, step / stepsPerEpoch / hyperparameters.StepEpochs),
            LearningRateSchedule.Cosine => peak * CosineFromOneToZero(progress),
            LearningRateSchedule.OneCycle when progress < OneCycleWarmupFraction =>
                Lerp(peak / OneCycleInitialDivisor, peak, progress / OneCycleWarmupFraction),
            LearningRateSchedule.OneCycle =>
                peak * CosineFromOneToZero((progress - OneCycleWarmupFraction) / (1 - OneCycleWarmupFraction)),
            _ => throw new ArgumentOutOfRangeException(nameof(hyperparameters), hyperparameters.LrSchedule, "Unknown schedule."),
        };
    }

    private static double CosineFromOneToZero(double t) => 0.5 * (1 + Math.Cos(Math.PI * t));

    private static double Lerp(double from, double to, double t) => from + (to - from) * t;
}
