using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// The early-stopping rules' arithmetic, on scores where higher is better (a loss is negated): which
/// epochs a rule judges, and the cutoff a trial's score must reach there to continue.
/// </summary>
/// <remarks>
/// ASHA (Li et al., "A System for Massively Parallel Hyperparameter Tuning", 2018, as a stopping rule
/// the way Ray Tune's AsyncHyperBandScheduler with one bracket applies it): rungs at epochs r·η^k below
/// the trial's last epoch; a trial reaching a rung is compared with the scores the trials before it
/// recorded at that rung, and stops when its score is below their (1 − 1/η) quantile (linear
/// interpolation between closest ranks, NumPy's default percentile); the first trial at a rung always
/// continues. Its score is then recorded at the rung, whatever the decision. The median rule: at each
/// epoch e from the grace period to the one before the trial's last, a trial whose score is below the
/// median of the other trials' recorded scores at e stops, once at least <c>minTrials</c> others have
/// one. Ties continue in both.
/// </remarks>
public static class StoppingRules
{
    /// <summary>The epochs <paramref name="rule"/> judges a trial of <paramref name="epochs"/> epochs at, in order.</summary>
    public static IEnumerable<int> JudgedEpochs(EarlyStoppingRule rule, int epochs)
    {
        if (rule.Rule == EarlyStoppingKind.Median)
        {
            for (var epoch = rule.GracePeriod; epoch < epochs; epoch++)
                yield return epoch;
            yield break;
        }
        for (long rung = rule.GracePeriod; rung < epochs; rung *= rule.ReductionFactor)
            yield return (int)rung;
    }

    /// <summary>The score a trial needs at this epoch to continue (null: nothing to compare with, so it continues).</summary>
    public static double? Cutoff(EarlyStoppingRule rule, IReadOnlyList<double> othersScores) => rule.Rule switch
    {
        EarlyStoppingKind.Asha => othersScores.Count == 0 ? null : Quantile(othersScores, 1 - 1.0 / rule.ReductionFactor),
        _ => othersScores.Count < rule.MinTrials ? null : Quantile(othersScores, 0.5),
    };

    /// <summary>Higher is better: the value itself for an accuracy, its negation for a loss.</summary>
    public static double Score(EarlyStoppingRule rule, double value) => rule.HigherIsBetter ? value : -value;

    /// <summary>The <paramref name="q"/> quantile of <paramref name="values"/>, interpolating linearly between closest ranks.</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        ArgumentOutOfRangeException.ThrowIfZero(values.Count);
        var sorted = values.Order().ToArray();
        var position = (sorted.Length - 1) * q;
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
