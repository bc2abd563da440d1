using TrainingService.Models.Architectures;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Models.Tests.Training;

[Collection(nameof(TrainingCollection))]
public class CheckpointedTrainingTests
{
    private static readonly Hyperparameters Quick = ArchitectureCatalog.ConvNet.Defaults with { Epochs = 3, BatchSize = 64, Seed = 5, TrainSubset = 640 };

    private static TrainingOutcome Run(CheckpointStore store, ITrainingObserver observer, CancellationToken cancellationToken = default)
    {
        using var train = RealData.Train(Quick.TrainSubset!.Value);
        using var test = RealData.Test(500);
        return CheckpointedTraining.Run(new TrainingPlan(ArchitectureCatalog.ConvNet, Quick, CPU), train, test, store, observer, cancellationToken);
    }

    [Fact]
    public void ARunStoppedAfterAnEpochResumesFromItsCheckpointAndEndsExactlyLikeAnUninterruptedOne()
    {
        var uninterruptedStore = new CheckpointStore(TestPaths.NewTempDirectory());
        var uninterrupted = Run(uninterruptedStore, new TrainingEngineTests.Recorder());

        var store = new CheckpointStore(TestPaths.NewTempDirectory());
        using var stop = new CancellationTokenSource();
        var firstAttempt = new TrainingEngineTests.Recorder { EpochCompleted = _ => stop.Cancel() };
        Assert.Throws<OperationCanceledException>(() => Run(store, firstAttempt, stop.Token));
        Assert.Equal([1], store.List().Select(m => m.Epoch));

        var secondAttempt = new TrainingEngineTests.Recorder();
        var resumed = Run(store, secondAttempt);

        // Only epochs 2 and 3 were trained again, and the whole history reads 1, 2, 3 once each.
        Assert.Equal([2, 3], secondAttempt.Epochs.Select(e => e.Epoch));
        Assert.Equal([1, 2, 3], resumed.Epochs.Select(e => e.Epoch));
        Assert.Equal(uninterrupted.Epochs.Select(Comparable), resumed.Epochs.Select(Comparable));
        // Bit-identical final weights: the safetensors files hash the same.
        Assert.Equal(Sha256Of(uninterruptedStore, "final"), Sha256Of(store, "final"));
        Assert.Equal([1, 2, 3], store.List().Select(m => m.Epoch));
        Assert.Equal(resumed.Best.Epoch, store.Resolve("best")!.Epoch);
    }

    [Fact]
    public void ACompletedRunRunAgainTrainsNothingAndReturnsTheSameResult()
    {
        var store = new CheckpointStore(TestPaths.NewTempDirectory());
        var first = Run(store, new TrainingEngineTests.Recorder());

        var again = new TrainingEngineTests.Recorder();
        var second = Run(store, again);

        Assert.Empty(again.Epochs);
        Assert.Equal(first.Epochs, second.Epochs);
        Assert.Equal(first.FinalEvaluation.ConfusionMatrix, second.FinalEvaluation.ConfusionMatrix);
    }

    [Fact]
    public void RefusesToResumeAFolderOfADifferentRun()
    {
        var store = new CheckpointStore(TestPaths.NewTempDirectory());
        using (var model = ArchitectureCatalog.ConvNet.Create())
            store.Save(1, "convnet", Quick with { LearningRate = 0.5 }, null, model, null);

        var error = Assert.Throws<TrainingException>(() => Run(store, new TrainingEngineTests.Recorder()));

        Assert.Equal(TrainingFailureKind.InvalidInput, error.Kind);
        Assert.Contains("different run", error.Message);
    }

    private static object Comparable(EpochMetrics m) => (m.Epoch, m.TrainLoss, m.TrainAccuracy, m.TestLoss, m.TestAccuracy, m.LearningRate);

    private static string Sha256Of(CheckpointStore store, string reference) =>
        store.Resolve(reference)!.Files.Single(f => f.Name == CheckpointStore.ModelFileName).Sha256;
}
