using TrainingService.Contracts.Training;
using TrainingService.Models.Training;

namespace TrainingService.Models.Tests.Training;

public class LearningRateTests
{
    private static double[] Sequence(Hyperparameters h, int stepsPerEpoch) =>
        Enumerable.Range(0, stepsPerEpoch * h.Epochs).Select(s => LearningRates.At(h, s, stepsPerEpoch)).ToArray();

    [Fact]
    public void ConstantNeverChanges()
    {
        var h = new Hyperparameters { LearningRate = 0.01, LrSchedule = LearningRateSchedule.Constant, Epochs = 3 };
        Assert.All(Sequence(h, 7), lr => Assert.Equal(0.01, lr));
    }

    [Fact]
    public void StepDecaysByGammaEveryStepEpochs()
    {
        var h = new Hyperparameters { LearningRate = 1, LrSchedule = LearningRateSchedule.Step, StepEpochs = 2, StepGamma = 0.1, Epochs = 5 };
        var lrs = Sequence(h, 4);

        // Epochs 1-2 at 1, 3-4 at 0.1, 5 at 0.01; the rate changes only at epoch boundaries.
        Assert.Equal(Enumerable.Repeat(1.0, 8), lrs[..8]);
        Assert.All(lrs[8..16], lr => Assert.Equal(0.1, lr, 12));
        Assert.All(lrs[16..], lr => Assert.Equal(0.01, lr, 12));
    }

    [Fact]
    public void CosineFallsFromThePeakThroughHalfToNearZero()
    {
        var h = new Hyperparameters { LearningRate = 0.002, LrSchedule = LearningRateSchedule.Cosine, Epochs = 2 };
        var lrs = Sequence(h, 50);

        Assert.Equal(0.002, lrs[0], 12);
        Assert.Equal(0.001, lrs[50], 12);
        Assert.True(lrs[^1] < 0.002 * 0.001);
        Assert.True(lrs.Zip(lrs.Skip(1)).All(p => p.Second <= p.First), "cosine must never increase");
    }

    [Fact]
    public void OneCycleWarmsUpToThePeakThenDecays()
    {
        var h = new Hyperparameters { LearningRate = 0.01, LrSchedule = LearningRateSchedule.OneCycle, Epochs = 1 };
        var lrs = Sequence(h, 100);

        Assert.Equal(0.01 / 25, lrs[0], 12);
        Assert.Equal(0.01, lrs[30], 12);
        Assert.Equal(0.01, lrs.Max(), 12);
        Assert.True(lrs[..31].Zip(lrs[1..31]).All(p => p.Second > p.First), "warm-up must rise");
        Assert.True(lrs[30..].Zip(lrs[31..]).All(p => p.Second < p.First), "annealing must fall");
        Assert.True(lrs[^1] < 0.01 * 0.001);
    }
}
