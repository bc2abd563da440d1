using System.Globalization;

namespace TrainingService.Contracts;

/// <summary>A bound on one of a job's final figures: at least <c>min</c> and/or at most <c>max</c> (either may be omitted).</summary>
public sealed record ExpectationBound(double? Min, double? Max);

/// <summary>One expectation of a finished job, checked: the figure's value, and whether it held.</summary>
public sealed record ExpectationOutcome(string Figure, double? Min, double? Max, double? Value, bool Held);

/// <summary>
/// What a CI pipeline gates on (<c>expect</c> on submission): conditions on a job's final figures,
/// checked when the job has succeeded. The run's status stays what it was; whether its figures held
/// is a separate verdict (<c>result.passed</c>), so a job that trained fine but missed its bar keeps
/// its metrics and checkpoints and is still told apart at a glance.
/// </summary>
public static class JobExpectations
{
    public const string TestAccuracy = "testAccuracy";
    public const string TestLoss = "testLoss";
    public const string BestTestAccuracy = "bestTestAccuracy";
    public const string BestTestLoss = "bestTestLoss";
    public const string WallSeconds = "wallSeconds";

    /// <summary>The figures an expectation may name, with what each is.</summary>
    public static IReadOnlyDictionary<string, string> Figures { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [TestAccuracy] = "test accuracy after the last epoch (an eval job: of the evaluated checkpoint), a fraction",
        [TestLoss] = "mean test loss after the last epoch",
        [BestTestAccuracy] = "the best epoch's test accuracy, a fraction",
        [BestTestLoss] = "the best epoch's test loss",
        [WallSeconds] = "seconds from the job's first start to its end, across attempts",
    };

    /// <summary>
    /// Each expectation checked against the succeeded job's figures; a figure the job has no value for
    /// (an eval job's best epoch) does not hold. Empty when the job has no expectations or no result.
    /// </summary>
    public static IReadOnlyList<ExpectationOutcome> Check(JobRecord job)
    {
        if (job.Expect is not { Count: > 0 } expect || job.Result is not { } result)
            return [];
        return [.. expect.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e =>
        {
            var value = e.Key switch
            {
                TestAccuracy => result.FinalTestAccuracy,
                TestLoss => result.FinalTestLoss,
                BestTestAccuracy => result.BestTestAccuracy,
                BestTestLoss => result.BestTestLoss,
                WallSeconds => job.StartedAt is { } started && job.FinishedAt is { } finished ? (finished - started).TotalSeconds : null,
                _ => (double?)null,
            };
            var held = value is { } v && double.IsFinite(v) && (e.Value.Min is not { } min || v >= min) && (e.Value.Max is not { } max || v <= max);
            return new ExpectationOutcome(e.Key, e.Value.Min, e.Value.Max, value, held);
        })];
    }

    /// <summary>A bound as people write it: <c>testAccuracy &gt;= 0.99</c>.</summary>
    public static string Describe(string figure, ExpectationBound bound) =>
        (bound.Min, bound.Max) switch
        {
            ({ } min, { } max) => string.Create(CultureInfo.InvariantCulture, $"{min} <= {figure} <= {max}"),
            ({ } min, null) => string.Create(CultureInfo.InvariantCulture, $"{figure} >= {min}"),
            (null, { } max) => string.Create(CultureInfo.InvariantCulture, $"{figure} <= {max}"),
            _ => figure,
        };
}
