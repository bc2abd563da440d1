using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Models.Tests.Training;

[Collection(nameof(TrainingCollection))]
public class CheckpointedTrainingTests
{
    private static readonly Hyperparameters Quick = ArchitectureCatalog.ConvNet.Defaults with { Epochs = 3, BatchSize = 64, Seed = 5, TrainSubset = 640 };

    private static TrainingOutcome Run(
        CheckpointStore store, ITrainingObserver observer, CancellationToken cancellationToken = default, CancellationToken suspend = default,
        TimeSpan? midEpochCheckpointInterval = null, int attempt = 1)
    {
        using var train = RealData.Train(Quick.TrainSubset!.Value);
        using var test = RealData.Test(500);
        // Progress after every step, so a test can stop the run at the step it chooses.
        return CheckpointedTraining.Run(new TrainingPlan(ArchitectureCatalog.ConvNet, Quick, CPU) { Attempt = attempt }, train, test, store, observer, cancellationToken,
            new TrainingEngine { ProgressInterval = TimeSpan.Zero, MidEpochCheckpointInterval = midEpochCheckpointInterval }, suspend);
    }

    /// <summary>A first attempt stopped by <paramref name="stop"/> during epoch 2, after its 4th of 10 steps.</summary>
    private static void RunUntilEpoch2Step4(CheckpointStore store, CancellationTokenSource stop, bool suspend, TimeSpan? midEpochCheckpointInterval = null)
    {
        var firstAttempt = new TrainingEngineTests.Recorder { Progress = p => { if (p is { Epoch: 2, Step: 4 }) stop.Cancel(); } };
        Assert.Throws<OperationCanceledException>(() => Run(store, firstAttempt, stop.Token, suspend ? stop.Token : default, midEpochCheckpointInterval));
        Assert.Equal([1], store.List().Select(m => m.Epoch));
    }

    private static string MidEpochFolder(CheckpointStore store) => Path.Combine(store.StoreDirectory, CheckpointedTraining.MidEpochFolder);

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
    public void ARunSuspendedMidEpochResumesAtTheStepItStoppedAtAndEndsExactlyLikeAnUninterruptedOne()
    {
        var uninterruptedStore = new CheckpointStore(TestPaths.NewTempDirectory());
        var uninterrupted = Run(uninterruptedStore, new TrainingEngineTests.Recorder());

        var store = new CheckpointStore(TestPaths.NewTempDirectory());
        using var stop = new CancellationTokenSource();
        RunUntilEpoch2Step4(store, stop, suspend: true);
        // The mid-epoch checkpoint is kept apart: it is not one of the run's checkpoints.
        Assert.True(Directory.Exists(MidEpochFolder(store)));
        Assert.Null(store.Resolve("2"));

        var secondAttempt = new TrainingEngineTests.Recorder();
        var resumed = Run(store, secondAttempt, attempt: 2);

        // Steps 1–4 of epoch 2 were not trained again: the first step reported is the 5th.
        Assert.Equal(1, secondAttempt.ResumedAt!.Value.CompletedEpochs);
        Assert.Equal((2, 4), (secondAttempt.ResumedAt.Value.MidEpoch!.Epoch, secondAttempt.ResumedAt.Value.MidEpoch.StepsDone));
        Assert.Equal((2, 5), (secondAttempt.Reports[0].Epoch, (int)secondAttempt.Reports[0].Step));
        Assert.Equal([2, 3], secondAttempt.Epochs.Select(e => e.Epoch));
        // Epoch 2's train loss and accuracy, summed over both attempts' steps, and everything after, are exact.
        Assert.Equal(uninterrupted.Epochs.Select(Comparable), resumed.Epochs.Select(Comparable));
        Assert.Equal(Sha256Of(uninterruptedStore, "final"), Sha256Of(store, "final"));
        Assert.False(Directory.Exists(MidEpochFolder(store)), "the mid-epoch checkpoint is deleted once its epoch is checkpointed");
        // Each epoch's checkpoint says who trained it, with the steps counted as they ran: epoch 2's
        // 10 are the first attempt's 4 and the second's 6, from step 4.
        Assert.Equal(
            [new EpochTraining(1, 0, 10, []), new EpochTraining(2, 4, 6, [new AttemptSteps(1, 4)]), new EpochTraining(2, 0, 10, [])],
            store.List().Select(m => m.Training));
        Assert.Equal(store.List().Select(m => m.Training), secondAttempt.Trainings.Prepend(store.List()[0].Training));
    }

    [Fact]
    public void ARunCancelledRatherThanSuspendedKeepsNoMidEpochCheckpointAndResumesAtTheEpochsStart()
    {
        var store = new CheckpointStore(TestPaths.NewTempDirectory());
        using var stop = new CancellationTokenSource();
        RunUntilEpoch2Step4(store, stop, suspend: false);
        Assert.False(Directory.Exists(MidEpochFolder(store)));

        var secondAttempt = new TrainingEngineTests.Recorder();
        Run(store, secondAttempt);

        Assert.Equal((1, (EpochPosition?)null), secondAttempt.ResumedAt);
        Assert.Equal((2, 1), (secondAttempt.Reports[0].Epoch, (int)secondAttempt.Reports[0].Step));
    }

    [Fact]
    public void ARunThatDiesMidEpochResumesFromItsLastPeriodicCheckpointAndEndsExactlyLikeAnUninterruptedOne()
    {
        var uninterrupted = Run(new CheckpointStore(TestPaths.NewTempDirectory()), new TrainingEngineTests.Recorder());
        var store = new CheckpointStore(TestPaths.NewTempDirectory());
        using var stop = new CancellationTokenSource();
        // A checkpoint after every step, and a stop that saves nothing itself, as a crash would.
        RunUntilEpoch2Step4(store, stop, suspend: false, midEpochCheckpointInterval: TimeSpan.Zero);

        var secondAttempt = new TrainingEngineTests.Recorder();
        var resumed = Run(store, secondAttempt, attempt: 2);

        Assert.Equal((2, 4), (secondAttempt.ResumedAt!.Value.MidEpoch!.Epoch, secondAttempt.ResumedAt.Value.MidEpoch.StepsDone));
        Assert.Equal((2, 5), (secondAttempt.Reports[0].Epoch, (int)secondAttempt.Reports[0].Step));
        Assert.Equal(uninterrupted.Epochs.Select(Comparable), resumed.Epochs.Select(Comparable));
        // The periodic checkpoint counted the dead attempt's steps up to it; the steps it ran after are lost, not counted.
        Assert.Equal(new EpochTraining(2, 4, 6, [new AttemptSteps(1, 4)]), store.List()[1].Training);
    }

    [Fact]
    public void ADamagedMidEpochCheckpointIsPassedOverForTheLastEpochsAndTheRunStillEndsExactlyRight()
    {
        var uninterrupted = Run(new CheckpointStore(TestPaths.NewTempDirectory()), new TrainingEngineTests.Recorder());
        var store = new CheckpointStore(TestPaths.NewTempDirectory());
        using var stop = new CancellationTokenSource();
        RunUntilEpoch2Step4(store, stop, suspend: true);
        var weights = Path.Combine(MidEpochFolder(store), CheckpointStore.LabelFor(2), CheckpointStore.ModelFileName);
        using (var file = File.OpenWrite(weights))
            file.SetLength(file.Length / 2);

        var secondAttempt = new TrainingEngineTests.Recorder();
        var resumed = Run(store, secondAttempt);

        Assert.Equal((1, (EpochPosition?)null), secondAttempt.ResumedAt);
        Assert.Equal(uninterrupted.Epochs.Select(Comparable), resumed.Epochs.Select(Comparable));
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
