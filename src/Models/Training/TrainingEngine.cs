using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using TrainingService.Models.Architectures;
using TrainingService.Models.Data;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainingService.Models.Training;

/// <summary>What to train, how, and where.</summary>
public sealed record TrainingPlan(ArchitectureInfo Architecture, Hyperparameters Hyperparameters, Device Device)
{
    /// <summary>Continue a run whose first epochs are done (null: start fresh).</summary>
    public ResumeState? Resume { get; init; }
}

/// <summary>
/// Where a resumed run picks up: the epochs already done, and a callback that loads the last
/// one's checkpoint into the model (already on its device; loading copies into the existing
/// parameters, so the optimizer stays bound to them) and into the optimizer.
/// </summary>
public sealed record ResumeState(
    IReadOnlyList<EpochMetrics> CompletedEpochs,
    Action<Module<Tensor, Tensor>, OptimizerHelper> Restore);

/// <summary>A snapshot of a running epoch, for progress displays.</summary>
public sealed record TrainingProgress(
    int Epoch,
    int Epochs,
    long Step,
    long StepsPerEpoch,
    double RunningLoss,
    double RunningAccuracy,
    double LearningRate,
    double SamplesPerSecond,
    TimeSpan EstimatedRemaining);

/// <summary>The end of an epoch: its metrics, its evaluation, and the state to checkpoint.</summary>
public sealed record CompletedEpoch(
    EpochMetrics Metrics,
    EvaluationResult Evaluation,
    Module<Tensor, Tensor> Model,
    OptimizerHelper Optimizer);

/// <summary>Receives a run's progress. Called on the training thread: keep it quick.</summary>
public interface ITrainingObserver
{
    void OnProgress(TrainingProgress progress) { }
    void OnEpochCompleted(CompletedEpoch epoch) { }
}

public sealed record TrainingOutcome(IReadOnlyList<EpochMetrics> Epochs, EvaluationResult FinalEvaluation)
{
    public EpochMetrics Best => Epochs.MaxBy(e => e.TestAccuracy)!;
}

/// <summary>
/// Trains one architecture on MNIST tensors that already live on the device. The loop is
/// synchronous on the calling thread (dispose scopes are per thread), uses one dispose scope per
/// step, keeps running sums on the device so nothing forces a device sync per step, and derives
/// everything random from (seed, epoch) so a resumed run repeats an uninterrupted one exactly.
/// </summary>
public sealed class TrainingEngine
{
    /// <summary>How often <see cref="ITrainingObserver.OnProgress"/> is called.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    public const int EvaluationBatchSize = 1000;

    public TrainingOutcome Train(TrainingPlan plan, MnistTensors train, MnistTensors test, ITrainingObserver observer, CancellationToken cancellationToken)
    {
        var h = plan.Hyperparameters;
        HyperparameterValidator.EnsureValid(h);
        var device = plan.Device;
        var history = new List<EpochMetrics>(plan.Resume?.CompletedEpochs ?? []);

        // Same seed → same initial weights on any device: build on the CPU, then move to the
        // device, then create the optimizer (which binds to the moved parameters).
        torch.manual_seed(h.Seed);
        using var model = plan.Architecture.Create(h);
        model.to(device);
        using var optimizer = CreateOptimizer(h, model.parameters());
        plan.Resume?.Restore(model, optimizer);

        var trainCount = train.Count;
        var stepsPerEpoch = (trainCount + h.BatchSize - 1) / h.BatchSize;
        EvaluationResult? lastEvaluation = null;

        for (var epoch = history.Count + 1; epoch <= h.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            SeedEpoch(h.Seed, epoch, device);
            model.train();

            using var order = ShuffledOrder(trainCount, h.Seed, epoch, device);
            using var lossSum = zeros(1, dtype: ScalarType.Float64, device: device);
            using var correctSum = zeros(1, dtype: ScalarType.Int64, device: device);
            var lastReport = clock.Elapsed;
            var learningRate = 0.0;

            for (var step = 0; step < stepsPerEpoch; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                learningRate = LearningRates.At(h, (long)(epoch - 1) * stepsPerEpoch + step, stepsPerEpoch);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;

                using (NewDisposeScope())
                {
                    var start = step * h.BatchSize;
                    var batchIndices = order.narrow(0, start, Math.Min(h.BatchSize, trainCount - start));
                    var images = train.Images.index_select(0, batchIndices);
                    var labels = train.Labels.index_select(0, batchIndices);

                    optimizer.zero_grad();
                    var logits = model.call(images);
                    var loss = functional.cross_entropy(logits, labels);
                    loss.backward();
                    optimizer.step();

                    using (no_grad())
                    {
                        lossSum.add_(loss.detach().to_type(ScalarType.Float64) * labels.shape[0]);
                        correctSum.add_(logits.argmax(1).eq(labels).sum());
                    }
                }

                if (clock.Elapsed - lastReport >= ProgressInterval)
                {
                    lastReport = clock.Elapsed;
                    var seen = Math.Min((long)(step + 1) * h.BatchSize, trainCount);
                    var runningLoss = lossSum.item<double>() / seen;
                    EnsureFinite(runningLoss, epoch, step);
                    var rate = seen / clock.Elapsed.TotalSeconds;
                    var remainingImages = (long)(h.Epochs - epoch) * trainCount + (trainCount - seen);
                    observer.OnProgress(new TrainingProgress(epoch, h.Epochs, step + 1, stepsPerEpoch, runningLoss,
                        (double)correctSum.item<long>() / seen, learningRate, rate, TimeSpan.FromSeconds(remainingImages / rate)));
                }
            }

            var trainSeconds = clock.Elapsed.TotalSeconds;
            var trainLoss = lossSum.item<double>() / trainCount;
            EnsureFinite(trainLoss, epoch, stepsPerEpoch - 1);
            var trainAccuracy = (double)correctSum.item<long>() / trainCount;

            lastEvaluation = Evaluate(model, test);
            var metrics = new EpochMetrics(epoch, trainLoss, trainAccuracy, lastEvaluation.Loss, lastEvaluation.Accuracy,
                learningRate, clock.Elapsed.TotalSeconds, trainCount / trainSeconds);
            history.Add(metrics);
            observer.OnEpochCompleted(new CompletedEpoch(metrics, lastEvaluation, model, optimizer));
        }

        // A run resumed after its last epoch has nothing left to train but still owes a result.
        lastEvaluation ??= Evaluate(model, test);
        return new TrainingOutcome(history, lastEvaluation);
    }

    /// <summary>Loss, accuracy and confusion matrix of <paramref name="model"/> on a labelled set, in eval mode without gradients.</summary>
    public static EvaluationResult Evaluate(Module<Tensor, Tensor> model, MnistTensors data)
    {
        const int classes = 10;
        model.eval();
        using var noGrad = no_grad();
        var device = data.Images.device;
        using var lossSum = zeros(1, dtype: ScalarType.Float64, device: device);
        using var confusion = zeros(classes * classes, dtype: ScalarType.Int64, device: device);

        for (var start = 0; start < data.Count; start += EvaluationBatchSize)
        {
            using var scope = NewDisposeScope();
            var length = Math.Min(EvaluationBatchSize, data.Count - start);
            var images = data.Images.narrow(0, start, length);
            var labels = data.Labels.narrow(0, start, length);
            var logits = model.call(images);
            lossSum.add_(functional.cross_entropy(logits, labels, reduction: Reduction.Sum).to_type(ScalarType.Float64));
            // Each (true, predicted) pair becomes one bin of a 100-bin histogram: the confusion matrix, on the device.
            confusion.add_(bincount(labels * classes + logits.argmax(1), minlength: classes * classes));
        }

        using var confusionOnHost = confusion.cpu();
        var counts = confusionOnHost.data<long>().ToArray();
        var matrix = Enumerable.Range(0, classes).Select(row => counts.AsSpan(row * classes, classes).ToArray()).ToArray();
        var correct = Enumerable.Range(0, classes).Sum(c => matrix[c][c]);
        return new EvaluationResult(lossSum.item<double>() / data.Count, (double)correct / data.Count, data.Count, matrix);
    }

    public static OptimizerHelper CreateOptimizer(Hyperparameters h, IEnumerable<Parameter> parameters) => h.Optimizer switch
    {
        OptimizerKind.Adam => optim.Adam(parameters, lr: h.LearningRate, weight_decay: h.WeightDecay),
        OptimizerKind.AdamW => optim.AdamW(parameters, lr: h.LearningRate, weight_decay: h.WeightDecay),
        OptimizerKind.Sgd => optim.SGD(parameters, learningRate: h.LearningRate, momentum: h.Momentum, weight_decay: h.WeightDecay),
        _ => throw new TrainingException(TrainingFailureKind.InvalidInput, $"Unknown optimizer '{h.Optimizer}'."),
    };

    /// <summary>
    /// Dropout draws from the global generator: reseeding it from (seed, epoch) at each epoch's
    /// start makes epoch k the same whether the run got there directly or through a resume.
    /// </summary>
    private static void SeedEpoch(long seed, int epoch, Device device)
    {
        var epochSeed = EpochSeed(seed, epoch, stream: 1);
        torch.manual_seed(epochSeed);
        if (device.type == DeviceType.CUDA) cuda.manual_seed_all(epochSeed);
    }

    private static Tensor ShuffledOrder(int count, long seed, int epoch, Device device)
    {
        using var generator = new Generator((ulong)EpochSeed(seed, epoch, stream: 2), device);
        return randperm(count, generator: generator, dtype: ScalarType.Int64, device: device);
    }

    private static long EpochSeed(long seed, int epoch, int stream) =>
        (long)((ulong)seed * 1_000_003UL + (ulong)epoch * 7919UL + (ulong)stream) & long.MaxValue;

    private static void EnsureFinite(double loss, int epoch, int step)
    {
        if (!double.IsFinite(loss))
            throw new TrainingException(TrainingFailureKind.NonFiniteLoss,
                $"The training loss became {loss} in epoch {epoch} by step {step + 1}: the run diverged. Lower the learning rate.");
    }
}
