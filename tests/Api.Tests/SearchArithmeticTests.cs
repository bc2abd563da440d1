using System.Text.Json;
using TrainingService.Api.Sweeps;
using TrainingService.Contracts;

namespace TrainingService.Api.Tests;

/// <summary>The search's arithmetic on its own: the rungs, the quantile (NumPy's default), and draws that stay the same for a seed.</summary>
public sealed class SearchArithmeticTests
{
    private static EarlyStoppingRule Asha(int r, int eta) => new(EarlyStoppingKind.Asha, StoppingMetric.TestAccuracy, r, eta, 3);

    [Theory]
    [InlineData(1, 3, 10, new[] { 1, 3, 9 })]
    [InlineData(1, 3, 9, new[] { 1, 3 })] // a rung at the last epoch would decide nothing
    [InlineData(2, 2, 9, new[] { 2, 4, 8 })]
    [InlineData(1, 3, 2, new[] { 1 })]
    public void ASHA_judges_at_rungs_r_times_powers_of_eta_below_the_last_epoch(int r, int eta, int epochs, int[] rungs) =>
        Assert.Equal(rungs, StoppingRules.JudgedEpochs(Asha(r, eta), epochs));

    [Fact]
    public void The_median_rule_judges_every_epoch_from_the_grace_period_to_the_one_before_the_last() =>
        Assert.Equal([2, 3, 4], StoppingRules.JudgedEpochs(new EarlyStoppingRule(EarlyStoppingKind.Median, StoppingMetric.TestLoss, 2, 3, 3), 5));

    [Theory]
    // numpy.percentile(values, q * 100), its default linear interpolation
    [InlineData(new[] { 0.9 }, 2.0 / 3, 0.9)]
    [InlineData(new[] { 0.9, 0.95 }, 2.0 / 3, 0.93333333333)]
    [InlineData(new[] { 0.95, 0.85, 0.9, 0.99 }, 2.0 / 3, 0.95)]
    [InlineData(new[] { 1.0, 2.0, 3.0, 4.0, 5.0 }, 0.75, 4.0)]
    [InlineData(new[] { 1.0, 2.0, 3.0, 4.0 }, 0.5, 2.5)]
    public void The_quantile_interpolates_linearly_between_closest_ranks(double[] values, double q, double expected) =>
        Assert.Equal(expected, StoppingRules.Quantile(values, q), 9);

    [Fact]
    public void A_cutoff_needs_someone_to_compare_with_and_a_loss_is_better_low()
    {
        Assert.Null(StoppingRules.Cutoff(Asha(1, 3), []));
        var median = new EarlyStoppingRule(EarlyStoppingKind.Median, StoppingMetric.TestLoss, 1, 3, 3);
        Assert.Null(StoppingRules.Cutoff(median, [-0.1, -0.2]));
        Assert.Equal(-0.2, StoppingRules.Cutoff(median, [-0.1, -0.2, -0.3]));
        Assert.Equal(-0.25, StoppingRules.Score(median, 0.25));
    }

    [Fact]
    public void A_seed_draws_the_same_trials_on_every_run_and_every_NET_version()
    {
        SearchDimension[] space =
        [
            new("learningRate", DistributionKind.LogUniform, [JsonSerializer.SerializeToElement(0.0001), JsonSerializer.SerializeToElement(0.01)]),
            new("batchSize", DistributionKind.IntRange, [JsonSerializer.SerializeToElement(16), JsonSerializer.SerializeToElement(256)]),
            new("optimizer", DistributionKind.Choice, [JsonSerializer.SerializeToElement("adam"), JsonSerializer.SerializeToElement("sgd")]),
        ];

        var draws = SearchSpace.Draw(space, 3, seed: 42);

        // Pinned: System.Random(int)'s seeded sequence is kept unchanged across .NET versions; if this
        // changes, sweeps made before would no longer be drawn again from their seed.
        Assert.Equal(
            """[{"learningRate":0.002169,"batchSize":149,"optimizer":"adam"},{"learningRate":0.0003351,"batchSize":60,"optimizer":"sgd"},{"learningRate":0.0002946,"batchSize":97,"optimizer":"adam"}]""",
            JsonSerializer.Serialize(draws));
        Assert.Equal(JsonSerializer.Serialize(draws), JsonSerializer.Serialize(SearchSpace.Draw(space, 3, seed: 42)));
    }
}
