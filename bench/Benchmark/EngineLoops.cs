using System.Diagnostics;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Training;
using TrainingService.Models.Architectures;
using TrainingService.Models.Data;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Benchmark;

/// <summary>The engine's side of the side-by-side runs: short timed pieces that take turns with PyTorch's.</summary>
internal static class EngineLoops
{
    /// <summary>
    /// Images/s of <see cref="TrainingEngine.Train"/> itself, one epoch of <paramref name="warmUp"/> +
    /// <paramref name="steps"/> batches from image <paramref name="offset"/> on a fresh model, timed
    /// from the end of the warm-up steps to the end of the last (the engine reports every step
    /// here), so the engine gets the same untimed first steps as PyTorch's loops. The evaluation
    /// after the epoch, on <paramref name="smallTest"/>, is not in the figure.
    /// </summary>
    public static double Train(ArchitectureInfo info, Hyperparameters h, ImageTensors train, ImageTensors smallTest, Device device, int warmUp, int steps, int offset)
    {
        var count = Math.Min((warmUp + steps) * h.BatchSize, train.Count - offset);
        using var chunk = ImageTensors.FromTensors(train.Images.narrow(0, offset, count), train.Labels.narrow(0, offset, count));
        var timer = new StepTimer(warmUp);
        new TrainingEngine { ProgressInterval = TimeSpan.Zero }.Train(new TrainingPlan(info, h with { Epochs = 1, TrainSubset = null }, device), chunk, smallTest,
            timer, CancellationToken.None);
        return (timer.LastStep - warmUp) * h.BatchSize / timer.Seconds;
    }

    /// <summary>Times an epoch from the end of step <c>warmUp</c> to the last step's end.</summary>
    private sealed class StepTimer(int warmUp) : ITrainingObserver
    {
        private readonly Stopwatch clock = new();
        public long LastStep { get; private set; }
        public double Seconds => clock.Elapsed.TotalSeconds;

        public void OnProgress(TrainingProgress progress)
        {
            if (progress.Step == warmUp) clock.Restart();
            else if (progress.Step == progress.StepsPerEpoch) { clock.Stop(); LastStep = progress.Step; }
        }
    }

    /// <summary>Images/s of the engine's evaluation (loss, accuracy, confusion matrix) over <paramref name="test"/>.</summary>
    public static double Evaluate(nn.Module<Tensor, Tensor> model, ImageTensors test, int batchSize)
    {
        // This shape's first call picks its kernels, as the forward loops' warm-up does.
        using (var first = ImageTensors.FromTensors(test.Images.narrow(0, 0, Math.Min(batchSize, test.Count)), test.Labels.narrow(0, 0, Math.Min(batchSize, test.Count))))
            TrainingEngine.Evaluate(model, first, batchSize);
        var clock = Stopwatch.StartNew();
        TrainingEngine.Evaluate(model, test, batchSize);
        return test.Count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Images/s of a bare forward loop over <paramref name="test"/>: eval mode, no autograd
    /// (no_grad, or inference_mode), argmax summed on the tensor, one read at the end. The
    /// floor evaluation could reach.
    /// </summary>
    public static double Forward(nn.Module<Tensor, Tensor> model, ImageTensors test, int batchSize, bool inferenceMode)
    {
        model.eval();
        using var mode = inferenceMode ? inference_mode() : no_grad();
        using (NewDisposeScope()) model.call(test.Images.narrow(0, 0, Math.Min(batchSize, test.Count))); // this shape's first call
        using var correct = zeros(1, dtype: ScalarType.Int64);
        var clock = Stopwatch.StartNew();
        for (var start = 0; start < test.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var length = Math.Min(batchSize, test.Count - start);
            correct.add_(model.call(test.Images.narrow(0, start, length)).argmax(1).eq(test.Labels.narrow(0, start, length)).sum());
        }
        correct.item<long>();
        return test.Count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>GFLOP/s of an n×n fp32 matrix product through libtorch on this process's threads: the achievable peak.</summary>
    public static double MatmulGflops(int n = 2048, int repeat = 10)
    {
        using var a = randn(n, n);
        using var b = randn(n, n);
        using (var warm = a.matmul(b)) { }
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < repeat; i++)
            using (var product = a.matmul(b)) { }
        return 2.0 * n * n * n * repeat / clock.Elapsed.TotalSeconds / 1e9;
    }
}
