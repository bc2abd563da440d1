using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Datasets;
using TrainingService.Models.Architectures;
using TrainingService.Models.Data;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Models.Tests.Training;

/// <summary>The models take their dataset's geometry: Fashion-MNIST trains as MNIST does, and a geometry no architecture takes is refused.</summary>
[Collection(nameof(TrainingCollection))]
public sealed class FashionMnistTrainingTests
{
    [Fact]
    public void TheConvNetLearnsRealFashionMnist()
    {
        var fashion = DatasetCatalog.FashionMnist;
        using var train = ImageTensors.Load(TestPaths.FashionMnistDirectory, fashion, DatasetSplit.Train, CPU, take: 6_000);
        using var test = ImageTensors.Load(TestPaths.FashionMnistDirectory, fashion, DatasetSplit.Test, CPU, take: 2_000);

        var outcome = new TrainingEngine().Train(
            new TrainingPlan(ArchitectureCatalog.ConvNet, ArchitectureCatalog.ConvNet.Defaults with { Epochs = 1, BatchSize = 64 }, CPU),
            train, test, new TrainingEngineTests.Recorder(), CancellationToken.None);

        // Chance is 10 %; one short epoch of a working pipeline gets far past 70 % (MNIST's bar of 93 % is out of reach: it is harder).
        var epoch = Assert.Single(outcome.Epochs);
        Assert.True(epoch.TestAccuracy >= 0.70, $"test accuracy {epoch.TestAccuracy:P2} is below 70 %");
        Assert.Equal(10, outcome.FinalEvaluation.ConfusionMatrix.Length);
        Assert.Equal(2_000, outcome.FinalEvaluation.ConfusionMatrix.Sum(row => row.Sum()));
    }

    [Theory]
    [InlineData(32, 32, 1, 10)]
    [InlineData(28, 28, 1, 26)]
    [InlineData(28, 28, 3, 10)]
    public void AGeometryTheArchitectureDoesNotTakeIsRefusedNamingWhatItTakes(int rows, int columns, int channels, int classes)
    {
        foreach (var architecture in ArchitectureCatalog.All)
        {
            var ex = Assert.Throws<TrainingException>(() => architecture.Create(architecture.Defaults, new ImageGeometry(rows, columns, channels, classes)));

            Assert.Equal(TrainingFailureKind.InvalidInput, ex.Kind);
            Assert.Contains($"{architecture.Name} takes 28×28 grey images in 10 classes", ex.Message);
        }
    }

    [Fact]
    public void TheClassCountComesFromTheGeometry()
    {
        // Every architecture here takes 10 classes only, but the head is built from the geometry, not a constant.
        foreach (var architecture in ArchitectureCatalog.All)
        {
            using var model = architecture.Create(architecture.Defaults, ImageGeometry.Mnist);
            model.eval();
            using var logits = model.call(zeros(2, 1, 28, 28));
            Assert.Equal([2L, 10L], logits.shape);
        }
    }
}
