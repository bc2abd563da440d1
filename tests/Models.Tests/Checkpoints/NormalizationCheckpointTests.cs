using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.Tests.Training;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Models.Tests.Checkpoints;

public class NormalizationCheckpointTests
{
    public static TheoryData<string, NormalizationKind> Variants() => Architectures.NormalizationVariantTests.Variants();

    [Theory]
    [MemberData(nameof(Variants))]
    public void EachVariantRoundTripsThroughACheckpointThatNamesItsNormalization(string name, NormalizationKind kind)
    {
        using var temp = new TemporaryStore();
        using var scope = NewDisposeScope();
        var architecture = ArchitectureCatalog.Get(name);
        var hyperparameters = architecture.Defaults with { Normalization = kind };
        manual_seed(11);
        var model = architecture.Create(hyperparameters);
        // One training-mode forward, so BatchNorm's running statistics hold something to carry over.
        using (no_grad()) { model.train(); model.call(randn(8, 1, 28, 28)); }
        temp.Store.Save(1, name, hyperparameters, null, model, optimizer: null);

        manual_seed(12); // different initial weights, which the load must overwrite
        var restored = architecture.Create(hyperparameters);
        var loaded = temp.Store.Load("1", name, restored, null, kind);

        Assert.Equal(kind, loaded.Manifest.Hyperparameters.Normalization);
        CheckpointTestKit.AssertSameState(CheckpointTestKit.Snapshot(model), restored);
        model.eval();
        restored.eval();
        var images = randn(4, 1, 28, 28);
        using (no_grad())
            Assert.True(CheckpointTestKit.Identical(model.call(images), restored.call(images)));
    }

    [Theory]
    [InlineData("convnet", NormalizationKind.Layer, NormalizationKind.Group)]
    [InlineData("convnet", NormalizationKind.Group, NormalizationKind.Layer)]
    [InlineData("attention", NormalizationKind.Layer, NormalizationKind.Group)]
    [InlineData("resnet18", NormalizationKind.Batch, NormalizationKind.Layer)]
    [InlineData("convnet", NormalizationKind.None, NormalizationKind.Batch)]
    public void LoadingIntoAnotherVariantFailsNamingBoth(string name, NormalizationKind saved, NormalizationKind wanted)
    {
        // Layer and group have identical keys and shapes: only the manifest can tell them apart.
        using var temp = new TemporaryStore();
        var architecture = ArchitectureCatalog.Get(name);
        using (var model = architecture.Create(saved))
            temp.Store.Save(1, name, architecture.Defaults with { Normalization = saved }, null, model, optimizer: null);
        using var other = architecture.Create(wanted);
        var before = CheckpointTestKit.Snapshot(other);

        var error = Assert.Throws<CheckpointException>(() => temp.Store.Load("1", name, other, null, wanted));

        Assert.Contains($"{saved.ToString().ToLowerInvariant()} normalization", error.Message);
        Assert.Contains($"{wanted.ToString().ToLowerInvariant()} normalization", error.Message);
        CheckpointTestKit.AssertSameState(before, other);
    }

    [Theory]
    [InlineData("convnet")]
    [InlineData("resnet18")]
    [InlineData("attention")]
    public void ACheckpointThatNamesNoNormalizationHasItsArchitecturesDefault(string name)
    {
        // What checkpoints written before normalization was a hyperparameter look like.
        using var temp = new TemporaryStore();
        var architecture = ArchitectureCatalog.Get(name);
        using (var model = architecture.Create())
            temp.Store.Save(1, name, architecture.Defaults with { Normalization = null }, null, model, optimizer: null);
        var manifest = temp.Store.Resolve("1")!;
        Assert.Null(manifest.Hyperparameters.Normalization);
        Assert.Equal(architecture.DefaultNormalization, CheckpointStore.NormalizationOf(manifest));

        using var same = architecture.Create();
        temp.Store.Load("1", name, same, null, architecture.DefaultNormalization);
        var other = architecture.DefaultNormalization == NormalizationKind.Group ? NormalizationKind.Layer : NormalizationKind.Group;
        using var different = architecture.Create(other);
        Assert.Throws<CheckpointException>(() => temp.Store.Load("1", name, different, null, other));
    }
}

[Collection(nameof(TrainingCollection))]
public class NormalizationResumeTests
{
    [Fact]
    public void ARunResumesWithTheVariantItStartedWithAndRefusesAnother()
    {
        using var temp = new TemporaryStore();
        using var train = RealData.Train(256);
        using var test = RealData.Test(200);
        var architecture = ArchitectureCatalog.ConvNet;
        var h = architecture.Defaults with { Epochs = 2, BatchSize = 64, Seed = 3, Normalization = NormalizationKind.Group };

        var first = CheckpointedTraining.Run(new TrainingPlan(architecture, h, CPU), train, test, temp.Store, new NullObserver(), CancellationToken.None);
        Assert.All(temp.Store.List(), m => Assert.Equal(NormalizationKind.Group, m.Hyperparameters.Normalization));

        // Running it again resumes from the last checkpoint (loading it into a new group-normalized
        // model, normalization checked) and finds nothing left to do.
        var again = CheckpointedTraining.Run(new TrainingPlan(architecture, h, CPU), train, test, temp.Store, new NullObserver(), CancellationToken.None);
        Assert.Equal(first.Epochs.Select(e => e.TestAccuracy), again.Epochs.Select(e => e.TestAccuracy));
        Assert.Equal(first.FinalEvaluation.Accuracy, again.FinalEvaluation.Accuracy);

        // Another normalization in the same folder is another run: refused before anything trains.
        var refused = Assert.Throws<TrainingException>(() =>
            CheckpointedTraining.Run(new TrainingPlan(architecture, h with { Normalization = NormalizationKind.Layer }, CPU), train, test, temp.Store, new NullObserver(), CancellationToken.None));
        Assert.Contains("different run", refused.Message);
        Assert.Equal(2, temp.Store.List().Count);
    }

    private sealed class NullObserver : ITrainingObserver;
}
