using System.Diagnostics;
using TorchSharp;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Models.Data;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;
using TrainingService.Contracts.Checkpoints;

namespace TrainingService.Models.Tests.Training;

// Training tests share libtorch's thread pool and are timing-sensitive (cancellation), so they don't run in parallel with each other.
[Collection(nameof(TrainingCollection))]
public class TrainingEngineTests
{
    private static readonly ArchitectureInfo ConvNet = ArchitectureCatalog.ConvNet;

    private static TrainingOutcome Train(Hyperparameters h, ImageTensors train, ImageTensors test, ITrainingObserver? observer = null,
        ResumeState? resume = null, CancellationToken cancellationToken = default, TrainingEngine? engine = null) =>
        (engine ?? new TrainingEngine()).Train(new TrainingPlan(ConvNet, h, CPU) { Resume = resume }, train, test,
            observer ?? new Recorder(), cancellationToken);

    /// <summary>The parts of an epoch record that must repeat exactly; times never do.</summary>
    private static object Comparable(EpochMetrics m) => (m.Epoch, m.TrainLoss, m.TrainAccuracy, m.TestLoss, m.TestAccuracy, m.LearningRate);

    [Fact]
    public void TrainsTheConvNetOnARealSubsetPastAnAccuracyBarNoBrokenPipelineReaches()
    {
        // 10,000 real images, one epoch: a working model and pipeline gets well above 93 % on the
        // full official test set; shuffled labels, unnormalised inputs or a broken model stay far below.
        using var train = RealData.Train(10_000);
        using var test = RealData.Test();

        var recorder = new Recorder();
        var outcome = Train(ConvNet.Defaults with { Epochs = 1, BatchSize = 64 }, train, test, recorder);

        var epoch = Assert.Single(outcome.Epochs);
        // Every optimizer step counted, the last (16 images) too: ceil(10,000 / 64) = 157, by the run's attempt.
        Assert.Equal(new EpochTraining(1, 0, 157, []), Assert.Single(recorder.Trainings));
        Assert.True(epoch.TestAccuracy >= 0.93, $"test accuracy {epoch.TestAccuracy:P2} is below 93 %");
        Assert.Equal(epoch.TestAccuracy, outcome.FinalEvaluation.Accuracy);
        Assert.Equal(10_000, outcome.FinalEvaluation.ConfusionMatrix.Sum(row => row.Sum()));
        Assert.True(epoch.TrainLoss is > 0 and < 1.5, $"train loss {epoch.TrainLoss}");
        Assert.True(epoch.SamplesPerSecond > 0 && epoch.EpochSeconds > 0);
        Assert.All(outcome.FinalEvaluation.PerClassAccuracy, a => Assert.InRange(a, 0.7, 1.0));
    }

    [Fact]
    public void SameSeedGivesIdenticalMetrics()
    {
        using var train = RealData.Train(768);
        using var test = RealData.Test(500);
        var h = ConvNet.Defaults with { Epochs = 2, BatchSize = 64, Seed = 7 };

        var first = Train(h, train, test);
        var second = Train(h, train, test);
        var otherSeed = Train(h with { Seed = 8 }, train, test);

        Assert.Equal(first.Epochs.Select(Comparable), second.Epochs.Select(Comparable));
        Assert.NotEqual(first.Epochs.Select(Comparable), otherSeed.Epochs.Select(Comparable));
    }

    [Fact]
    public void ResumingAfterAnEpochEndsWithTheSameMetricsAsAnUninterruptedRun()
    {
        using var train = RealData.Train(768);
        using var test = RealData.Test(500);
        var h = ConvNet.Defaults with { Epochs = 3, BatchSize = 64, Seed = 11 };
        var optimizerFile = Path.Combine(TestPaths.NewTempDirectory(), "optimizer.bin");
        Dictionary<string, Tensor>? weightsAfterEpoch1 = null;

        var uninterrupted = Train(h, train, test, new Recorder
        {
            EpochCompleted = e =>
            {
                if (e.Metrics.Epoch != 1) return;
                weightsAfterEpoch1 = e.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
                e.Optimizer.save_state_dict(optimizerFile);
            },
        });
        var resume = new ResumeState(
            uninterrupted.Epochs.Take(1).ToList(),
            (model, optimizer) =>
            {
                model.load_state_dict(weightsAfterEpoch1!);
                optimizer.load_state_dict(optimizerFile);
            });
        var resumed = Train(h, train, test, resume: resume);

        Assert.Equal([1, 2, 3], resumed.Epochs.Select(e => e.Epoch));
        Assert.Equal(uninterrupted.Epochs.Select(Comparable), resumed.Epochs.Select(Comparable));
        Assert.Equal(uninterrupted.FinalEvaluation.ConfusionMatrix, resumed.FinalEvaluation.ConfusionMatrix);
    }

    [Fact]
    public void CancellationStopsAtTheNextStepBoundary()
    {
        using var train = RealData.Train(60_000);
        using var test = RealData.Test(500);
        using var cancellation = new CancellationTokenSource();
        var stepsAfterCancel = 0;
        var recorder = new Recorder
        {
            Progress = p =>
            {
                if (cancellation.IsCancellationRequested) stepsAfterCancel++;
                else if (p.Step >= 3) cancellation.Cancel();
            },
        };

        Assert.Throws<OperationCanceledException>(() =>
            Train(ConvNet.Defaults, train, test, recorder, cancellationToken: cancellation.Token,
                engine: new TrainingEngine { ProgressInterval = TimeSpan.Zero }));

        // Progress is reported after every step here, so any step run after the cancel would show up.
        Assert.True(cancellation.IsCancellationRequested, "the run must have been cancelled mid-epoch");
        Assert.Equal(0, stepsAfterCancel);
        Assert.Empty(recorder.Epochs);
    }

    [Fact]
    public void EveryEpochReportsItsLastStepEvenWhenShorterThanTheProgressInterval()
    {
        using var train = RealData.Train(256);
        using var test = RealData.Test(100);
        var recorder = new Recorder();

        Train(ConvNet.Defaults with { Epochs = 3, BatchSize = 64 }, train, test, recorder,
            engine: new TrainingEngine { ProgressInterval = TimeSpan.FromHours(1) });

        // Four steps an epoch, far quicker than an hour: only the epochs' last steps are reported.
        Assert.Equal([(1, 4), (2, 4), (3, 4)], recorder.Reports.Select(p => (p.Epoch, p.Step)));
        Assert.All(recorder.Reports, p => Assert.Equal(4, p.StepsPerEpoch));
    }

    [Fact]
    public void LiveTensorCountStaysFlatAcrossStepsAndEpochs()
    {
        using var train = RealData.Train(1_280);
        using var test = RealData.Test(500);
        var liveAtProgress = new List<long>();
        var liveAtEpochEnd = new List<long>();
        var recorder = new Recorder
        {
            Progress = _ => liveAtProgress.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount),
            EpochCompleted = _ => liveAtEpochEnd.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount),
        };

        Train(ConvNet.Defaults with { Epochs = 3, BatchSize = 32 }, train, test, recorder,
            engine: new TrainingEngine { ProgressInterval = TimeSpan.Zero });

        // 40 steps an epoch: every step after the first must leave exactly as many live tensors as it found.
        Assert.Equal(3 * 40, liveAtProgress.Count);
        var perEpoch = liveAtProgress.Chunk(40).ToList();
        Assert.All(perEpoch, steps => Assert.Single(steps.Skip(1).Distinct()));
        Assert.Single(perEpoch.Select(steps => steps[^1]).Distinct());
        Assert.Single(liveAtEpochEnd.Distinct());
    }

    [Fact]
    public void NonFiniteLossFailsTheRunWithoutRetrying()
    {
        using var poisoned = ImageTensors.FromTensors(full(256, 1, 28, 28, float.NaN), zeros(256, dtype: ScalarType.Int64));
        using var test = RealData.Test(100);

        var error = Assert.Throws<TrainingException>(() => Train(ConvNet.Defaults with { Epochs = 2 }, poisoned, test));

        Assert.Equal(TrainingFailureKind.NonFiniteLoss, error.Kind);
        Assert.Contains("epoch 1", error.Message);
    }

    [Fact]
    public void ARunResumedAfterItsLastEpochOnlyEvaluates()
    {
        using var train = RealData.Train(256);
        using var test = RealData.Test(200);
        var h = ConvNet.Defaults with { Epochs = 1 };
        var done = new EpochMetrics(1, 0.5, 0.8, 0.4, 0.9, 0.001, 1, 100);
        var recorder = new Recorder();

        var outcome = Train(h, train, test, recorder, new ResumeState([done], (_, _) => { }));

        Assert.Equal([done], outcome.Epochs);
        Assert.Empty(recorder.Epochs);
        Assert.Equal(200, outcome.FinalEvaluation.Samples);
    }

    [Fact]
    public void EvaluationCountsEveryImageInTheConfusionMatrix()
    {
        using var test = RealData.Test(1_000);
        torch.manual_seed(3);
        using var model = ConvNet.Create();

        var result = TrainingEngine.Evaluate(model, test);

        Assert.Equal(1_000, result.Samples);
        Assert.Equal(10, result.ConfusionMatrix.Length);
        Assert.All(result.ConfusionMatrix, row => Assert.Equal(10, row.Length));
        Assert.Equal(1_000, result.ConfusionMatrix.Sum(row => row.Sum()));
        var labelCounts = test.Labels.bincount(null, 10).data<long>().ToArray();
        Assert.Equal(labelCounts, result.ConfusionMatrix.Select(row => row.Sum()));
        Assert.False(model.training, "evaluation leaves the model in eval mode");
    }

    [Theory]
    [InlineData(ArchitectureCatalog.ConvNetName)]
    [InlineData(ArchitectureCatalog.ResNet18Name)] // BatchNorm: eval mode must use the running statistics, not the batch's
    [InlineData(ArchitectureCatalog.AttentionName)]
    public void EvaluationGivesTheSameResultWhateverItsBatchSize(string name)
    {
        // The batch size is a speed choice only: a model trained a few steps (its predictions spread
        // over the classes, with small margins, where a different summation order would show) scores the same at the engine's batch size as it does in batches of 128, 333 (a last batch shorter than the rest) or the whole set at once.
        using var train = RealData.Train(512);
        using var test = RealData.Test(1_000);
        var architecture = ArchitectureCatalog.Get(name);
        var h = architecture.Defaults with { Epochs = 1, TrainSubset = null, Seed = 5 };
        torch.manual_seed(h.Seed);
        using var model = architecture.Create(h);
        using (var optimizer = TrainingEngine.CreateOptimizer(h, model.parameters()))
        {
            model.train();
            for (var start = 0; start < train.Count; start += h.BatchSize)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                nn.functional.cross_entropy(model.call(train.Images.narrow(0, start, h.BatchSize)), train.Labels.narrow(0, start, h.BatchSize)).backward();
                optimizer.step();
            }
        }
        // Four steps leave BatchNorm's running statistics mostly at their initial values (momentum
        // 0.1), and ResNet18 in eval mode then predicts one or two classes: settle them as a
        // longer run would, with forward passes in training mode.
        using (no_grad())
            for (var pass = 0; pass < 20; pass++)
            {
                using var scope = NewDisposeScope();
                model.call(train.Images.narrow(0, pass % 4 * h.BatchSize, h.BatchSize));
            }

        var reference = TrainingEngine.Evaluate(model, test);
        foreach (var batchSize in new[] { 128, 333, 1_000 })
        {
            var result = TrainingEngine.Evaluate(model, test, batchSize);
            Assert.Equal(reference.Samples, result.Samples);
            Assert.Equal(reference.ConfusionMatrix, result.ConfusionMatrix);
            Assert.Equal(reference.Accuracy, result.Accuracy);
            // Float32 sums of a batch's losses round differently in other groupings: ~1e-7 relative.
            Assert.Equal(reference.Loss, result.Loss, reference.Loss * 1e-5);
        }
        // Not a degenerate model that predicts one class whatever the input (equal matrices would then prove little).
        var predictedClasses = Enumerable.Range(0, 10).Count(c => reference.ConfusionMatrix.Sum(row => row[c]) > 0);
        Assert.True(predictedClasses >= 5, $"{name} predicts only {predictedClasses} classes");
    }

    internal sealed class Recorder : ITrainingObserver
    {
        public List<EpochMetrics> Epochs { get; } = [];
        public List<EpochTraining> Trainings { get; } = [];
        public List<TrainingProgress> Reports { get; } = [];
        public (int CompletedEpochs, EpochPosition? MidEpoch)? ResumedAt { get; private set; }
        public Action<TrainingProgress>? Progress { get; init; }
        public Action<CompletedEpoch>? EpochCompleted { get; init; }

        public void OnResumed(int completedEpochs, EpochPosition? midEpoch) => ResumedAt = (completedEpochs, midEpoch);

        public void OnProgress(TrainingProgress progress)
        {
            Reports.Add(progress);
            Progress?.Invoke(progress);
        }

        public void OnEpochCompleted(CompletedEpoch epoch)
        {
            Epochs.Add(epoch.Metrics);
            Trainings.Add(epoch.Training);
            EpochCompleted?.Invoke(epoch);
        }
    }
}

/// <summary>
/// Tests that train or depend on a seed: they share libtorch's thread pool and its global random
/// generator, so they run one at a time and with no other test running beside them.
/// </summary>
[CollectionDefinition(nameof(TrainingCollection), DisableParallelization = true)]
public class TrainingCollection;
