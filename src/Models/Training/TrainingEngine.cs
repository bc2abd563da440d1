using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Models.Data;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Contracts.Training;

namespace TrainingService.Models.Training;

/// <summary>What to train, how, and where.</summary>
public sealed record TrainingPlan(ArchitectureInfo Architecture, Hyperparameters Hyperparameters, Device Device)
{
    /// <summary>Continue a run whose first epochs are done (null: start fresh).</summary>
    public ResumeState? Resume { get; init; }

    /// <summary>
    /// Which run of the job this is (a worker's attempt number): the optimizer steps it runs are
    /// counted under it, in mid-epoch checkpoints and in each epoch's <see cref="EpochTraining"/>.
    /// </summary>
    public int Attempt { get; init; } = 1;
}

/// <summary>
/// Where a resumed run picks up: the epochs already done, and a callback that loads the saved
/// state into the model (already on its device; loading copies into the existing parameters, so
/// the optimizer stays bound to them) and into the optimizer. That state is the last epoch's
/// checkpoint, or, when <see cref="MidEpoch"/> is set, the one taken part-way through the next epoch.
/// </summary>
public sealed record ResumeState(
    IReadOnlyList<EpochMetrics> CompletedEpochs,
    Action<Module<Tensor, Tensor>, OptimizerHelper> Restore)
{
    /// <summary>How far the epoch after <see cref="CompletedEpochs"/> had got (null: resume at its start).</summary>
    public EpochPosition? MidEpoch { get; init; }
}


/// <summary>An epoch between two of its steps: where, and the state to checkpoint to resume there.</summary>
public sealed record EpochInProgress(
    EpochPosition Position,
    Module<Tensor, Tensor> Model,
    OptimizerHelper Optimizer);

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

/// <summary>The end of an epoch: its metrics, who trained it and how many steps, its evaluation, and the state to checkpoint.</summary>
public sealed record CompletedEpoch(
    EpochMetrics Metrics,
    EpochTraining Training,
    EvaluationResult Evaluation,
    Module<Tensor, Tensor> Model,
    OptimizerHelper Optimizer);

/// <summary>Receives a run's progress. Called on the training thread: keep it quick.</summary>
public interface ITrainingObserver
{
    /// <summary>A resumed run has restored its state and goes on after <paramref name="completedEpochs"/> epochs, or at <paramref name="midEpoch"/>.</summary>
    void OnResumed(int completedEpochs, EpochPosition? midEpoch) { }
    void OnProgress(TrainingProgress progress) { }
    void OnEpochCompleted(CompletedEpoch epoch) { }

    /// <summary>
    /// The run is stopping, on cancellation, part-way through an epoch; called at the step boundary
    /// before the <see cref="OperationCanceledException"/> is thrown, while the state is still there
    /// to checkpoint. Not called when nothing was trained since the last epoch ended or the run resumed.
    /// </summary>
    void OnInterrupted(EpochInProgress epoch) { }

    /// <summary>
    /// <see cref="TrainingEngine.MidEpochCheckpointInterval"/> has passed since the epoch began or
    /// was last checkpointed: the state to save, so a crash loses at most that much training.
    /// </summary>
    void OnCheckpointDue(EpochInProgress epoch) { }
}

public sealed record TrainingOutcome(IReadOnlyList<EpochMetrics> Epochs, EvaluationResult FinalEvaluation)
{
    public EpochMetrics Best => Epochs.MaxBy(e => e.TestAccuracy)!;
}

/// <summary>
/// Trains one architecture on MNIST tensors that already live on the device. The loop is
/// synchronous on the calling thread (dispose scopes are per thread), uses one dispose scope per
/// step, keeps running sums on the device so nothing forces a device sync per step, and derives
/// everything random from (seed, epoch, step) so a run resumed at an epoch's start or part-way
/// through repeats an uninterrupted one exactly.
/// </summary>
public sealed class TrainingEngine
{
    /// <summary>
    /// How often <see cref="ITrainingObserver.OnProgress"/> is called; also after each epoch's last
    /// step, so that an epoch shorter than this still shows as done before its evaluation.
    /// </summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often, within an epoch, <see cref="ITrainingObserver.OnCheckpointDue"/> is called (null: never).</summary>
    public TimeSpan? MidEpochCheckpointInterval { get; init; }

    /// <summary>
    /// The evaluation's batch: measured by bench/Benchmark's evaluation phase (docs/benchmarks.md),
    /// 128 was the fastest for the convnet (+36 % over 1,000) and the attention classifier (+29 %) and
    /// level for ResNet18. Bigger batches' activations (100 MB a batch in the convnet's first layer at
    /// 1,000) are above glibc's threshold for reusing freed memory, so each batch gets fresh pages.
    /// </summary>
    public const int EvaluationBatchSize = 128;

    public TrainingOutcome Train(TrainingPlan plan, ImageTensors train, ImageTensors test, ITrainingObserver observer, CancellationToken cancellationToken)
    {
        var h = plan.Hyperparameters;
        HyperparameterChecks.EnsureValid(h);
        if (test.Geometry != train.Geometry)
            throw new ArgumentException($"The test split's geometry ({test.Geometry}) differs from the training split's ({train.Geometry}).", nameof(test));
        var device = plan.Device;
        var history = new List<EpochMetrics>(plan.Resume?.CompletedEpochs ?? []);

        // Same seed → same initial weights on any device: build on the CPU, then move to the
        // device, then create the optimizer (which binds to the moved parameters).
        torch.manual_seed(h.Seed);
        using var model = plan.Architecture.Create(h, train.Geometry);
        model.to(device);
        using var optimizer = CreateOptimizer(h, model.parameters());
        var firstEpoch = history.Count + 1;
        var resumeAt = plan.Resume?.MidEpoch is { } position && position.Epoch == firstEpoch ? position : null;
        if (plan.Resume is { } resume)
        {
            resume.Restore(model, optimizer);
            observer.OnResumed(history.Count, resumeAt);
        }

        var trainCount = train.Count;
        var stepsPerEpoch = (trainCount + h.BatchSize - 1) / h.BatchSize;
        EvaluationResult? lastEvaluation = null;

        for (var epoch = firstEpoch; epoch <= h.Epochs; epoch++)
        {
            // A resumed epoch carries on from its saved position: steps, sums and time so far.
            var startAt = epoch == firstEpoch ? resumeAt : null;
            var firstStep = startAt?.StepsDone ?? 0;
            var earlierSeconds = startAt?.TrainSeconds ?? 0;
            var earlierAttempts = EarlierAttempts(startAt);
            // Counted as the optimizer steps, not derived from step indices: the evidence that no
            // step of the epoch ran twice (see EpochTraining).
            var stepsRun = 0;
            var clock = Stopwatch.StartNew();
            model.train();

            using var order = ShuffledOrder(trainCount, h.Seed, epoch, device);
            using var lossSum = full(1, startAt?.TrainLossSum ?? 0.0, dtype: ScalarType.Float64, device: device);
            using var correctSum = full(1, startAt?.TrainCorrect ?? 0L, dtype: ScalarType.Int64, device: device);
            var lastReport = clock.Elapsed;
            var lastCheckpoint = clock.Elapsed;
            var learningRate = 0.0;
            EpochInProgress InProgress(int stepsDone) => new(
                new EpochPosition(epoch, stepsDone, lossSum.item<double>(), correctSum.item<long>(), earlierSeconds + clock.Elapsed.TotalSeconds)
                {
                    StepsRun = [.. earlierAttempts, new AttemptSteps(plan.Attempt, stepsRun)],
                },
                model, optimizer);

            for (var step = firstStep; step < stepsPerEpoch; step++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    if (step > firstStep)
                        observer.OnInterrupted(InProgress(step));
                    cancellationToken.ThrowIfCancellationRequested();
                }
                learningRate = LearningRates.At(h, (long)(epoch - 1) * stepsPerEpoch + step, stepsPerEpoch);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;
                SeedStep(h.Seed, epoch, step, device);

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
                    stepsRun++;

                    using (no_grad())
                    {
                        lossSum.add_(loss.detach().to_type(ScalarType.Float64) * labels.shape[0]);
                        correctSum.add_(logits.argmax(1).eq(labels).sum());
                    }
                }

                if (clock.Elapsed - lastReport >= ProgressInterval || step + 1 == stepsPerEpoch)
                {
                    lastReport = clock.Elapsed;
                    var seen = Math.Min((long)(step + 1) * h.BatchSize, trainCount);
                    var runningLoss = lossSum.item<double>() / seen;
                    EnsureFinite(runningLoss, epoch, step);
                    var rate = (seen - (long)firstStep * h.BatchSize) / clock.Elapsed.TotalSeconds;
                    var remainingImages = (long)(h.Epochs - epoch) * trainCount + (trainCount - seen);
                    observer.OnProgress(new TrainingProgress(epoch, h.Epochs, step + 1, stepsPerEpoch, runningLoss,
                        (double)correctSum.item<long>() / seen, learningRate, rate, TimeSpan.FromSeconds(remainingImages / rate)));
                }

                // The epoch's end has a checkpoint of its own.
                if (MidEpochCheckpointInterval is { } interval && step + 1 < stepsPerEpoch && clock.Elapsed - lastCheckpoint >= interval)
                {
                    observer.OnCheckpointDue(InProgress(step + 1));
                    lastCheckpoint = clock.Elapsed;
                }
            }

            var trainSeconds = earlierSeconds + clock.Elapsed.TotalSeconds;
            var trainLoss = lossSum.item<double>() / trainCount;
            EnsureFinite(trainLoss, epoch, stepsPerEpoch - 1);
            var trainAccuracy = (double)correctSum.item<long>() / trainCount;

            lastEvaluation = Evaluate(model, test);
            var metrics = new EpochMetrics(epoch, trainLoss, trainAccuracy, lastEvaluation.Loss, lastEvaluation.Accuracy,
                learningRate, earlierSeconds + clock.Elapsed.TotalSeconds, trainCount / trainSeconds);
            history.Add(metrics);
            var training = new EpochTraining(plan.Attempt, firstStep, stepsRun, earlierAttempts);
            observer.OnEpochCompleted(new CompletedEpoch(metrics, training, lastEvaluation, model, optimizer));
        }

        // A run resumed after its last epoch has nothing left to train but still owes a result.
        lastEvaluation ??= Evaluate(model, test);
        return new TrainingOutcome(history, lastEvaluation);
    }

    /// <summary>
    /// The steps the attempts before this one ran in an epoch resumed part-way through, as its
    /// mid-epoch checkpoint counted them; a checkpoint from before steps were counted gives its
    /// position's steps, under attempt 0.
    /// </summary>
    private static IReadOnlyList<AttemptSteps> EarlierAttempts(EpochPosition? resumedAt) => resumedAt switch
    {
        null => [],
        { StepsRun: { } counted } => counted,
        { StepsDone: > 0 } => [new AttemptSteps(0, resumedAt.StepsDone)],
        _ => [],
    };

    /// <summary>Loss, accuracy and confusion matrix of <paramref name="model"/> on a labelled set, in eval mode without gradients.</summary>
    public static EvaluationResult Evaluate(Module<Tensor, Tensor> model, ImageTensors data, int batchSize = EvaluationBatchSize)
    {
        var classes = data.Geometry.ClassCount;
        model.eval();
        using var noGrad = no_grad();
        var device = data.Images.device;
        using var lossSum = zeros(1, dtype: ScalarType.Float64, device: device);
        using var confusion = zeros(classes * classes, dtype: ScalarType.Int64, device: device);

        for (var start = 0; start < data.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var length = Math.Min(batchSize, data.Count - start);
            var images = data.Images.narrow(0, start, length);
            var labels = data.Labels.narrow(0, start, length);
            var logits = model.call(images);
            lossSum.add_(functional.cross_entropy(logits, labels, reduction: Reduction.Sum).to_type(ScalarType.Float64));
            // Each (true, predicted) pair becomes one bin of a classes²-bin histogram: the confusion matrix, on the device.
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
    /// Dropout draws from the global generator: reseeding it from (seed, epoch, step) before each
    /// step makes that step's masks the same whether the run got there directly or through a
    /// resume, at an epoch's start or part-way through.
    /// </summary>
    private static void SeedStep(long seed, int epoch, int step, Device device)
    {
        var stepSeed = StepSeed(seed, epoch, step);
        torch.manual_seed(stepSeed);
        if (device.type == DeviceType.CUDA) cuda.manual_seed_all(stepSeed);
    }

    /// <summary>
    /// Well-spread seeds for neighbouring (epoch, step) pairs. The CPU generator keeps only the
    /// seed's low 32 bits, so a plain sum of the parts would give different steps equal masks.
    /// </summary>
    private static long StepSeed(long seed, int epoch, int step) =>
        (long)(Scramble(Scramble(Scramble((ulong)seed) ^ (uint)epoch) ^ (uint)step) & 0x7FFF_FFFF_FFFF_FFFFUL);

    /// <summary>SplitMix64's output function: every input bit reaches every output bit.</summary>
    private static ulong Scramble(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
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
