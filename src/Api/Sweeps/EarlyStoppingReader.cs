using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>Reads a sweep's <c>earlyStopping</c> into a rule with every default filled in; problems by field (<c>earlyStopping.reductionFactor</c>).</summary>
public static class EarlyStoppingReader
{
    public const int MaxReductionFactor = 10;

    private static readonly Dictionary<string, EarlyStoppingKind> Rules = new(StringComparer.Ordinal)
    {
        ["asha"] = EarlyStoppingKind.Asha,
        ["median"] = EarlyStoppingKind.Median,
    };

    private static readonly Dictionary<string, StoppingMetric> Metrics = new(StringComparer.Ordinal)
    {
        ["testAccuracy"] = StoppingMetric.TestAccuracy,
        ["testLoss"] = StoppingMetric.TestLoss,
        ["trainAccuracy"] = StoppingMetric.TrainAccuracy,
        ["trainLoss"] = StoppingMetric.TrainLoss,
    };

    /// <summary>The request's name for a metric: <c>testAccuracy</c>.</summary>
    public static string NameOf(StoppingMetric metric) => Metrics.Single(m => m.Value == metric).Key;

    /// <summary>The rule, or null when none was asked for or it has problems (reported to <paramref name="error"/>).</summary>
    public static EarlyStoppingRule? Read(EarlyStoppingRequest? request, Action<string, string> error)
    {
        if (request is null)
            return null;
        const string field = "earlyStopping";
        EarlyStoppingKind? rule = null;
        if (request.Rule is null)
            error($"{field}.rule", $"Required: {string.Join(" or ", Rules.Keys)}.");
        else if (Rules.TryGetValue(request.Rule, out var known))
            rule = known;
        else
            error($"{field}.rule", $"Must be {string.Join(" or ", Rules.Keys)}.");

        var metric = StoppingMetric.TestAccuracy;
        if (request.Metric is not null && !Metrics.TryGetValue(request.Metric, out metric))
            error($"{field}.metric", $"Must be one of: {string.Join(", ", Metrics.Keys)}.");

        var gracePeriod = request.GracePeriod ?? EarlyStoppingRule.DefaultGracePeriod;
        if (gracePeriod is < 1 or > Contracts.Training.Hyperparameters.MaxEpochs)
            error($"{field}.gracePeriod", $"Must be 1 to {Contracts.Training.Hyperparameters.MaxEpochs} epochs.");

        var reductionFactor = request.ReductionFactor ?? EarlyStoppingRule.DefaultReductionFactor;
        if (request.ReductionFactor is not null && rule == EarlyStoppingKind.Median)
            error($"{field}.reductionFactor", "Only asha has a reduction factor; the median rule takes minTrials.");
        else if (reductionFactor is < 2 or > MaxReductionFactor)
            error($"{field}.reductionFactor", $"Must be 2 to {MaxReductionFactor}.");

        var minTrials = request.MinTrials ?? EarlyStoppingRule.DefaultMinTrials;
        if (request.MinTrials is not null && rule == EarlyStoppingKind.Asha)
            error($"{field}.minTrials", "Only the median rule takes minTrials; asha takes reductionFactor.");
        else if (minTrials is < 1 or > SweepPlanner.MaxPoints)
            error($"{field}.minTrials", $"Must be 1 to {SweepPlanner.MaxPoints}.");

        return rule is { } kind ? new EarlyStoppingRule(kind, metric, gracePeriod, reductionFactor, minTrials) : null;
    }
}
