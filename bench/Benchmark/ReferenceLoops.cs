using TorchSharp;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Models.Data;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Benchmark;

/// <summary>
/// The two loops the engine is measured against, each with a model and optimizer of its own that
/// live across measurements: the bare model step on one pre-made batch (the compute limit of the
/// loop) and the naive notebook-style loop. Measured in short chunks between the engine's epochs,
/// so that each engine epoch is compared with what the same machine did just before and after it.
/// </summary>
internal sealed class ReferenceLoops : IDisposable
{
    private readonly Device device;
    private readonly int batchSize;
    private readonly nn.Module<Tensor, Tensor> bareModel;
    private readonly optim.Optimizer bareOptimizer;
    private readonly Tensor images;
    private readonly Tensor labels;
    private readonly nn.Module<Tensor, Tensor> naiveModel;
    private readonly optim.Optimizer naiveOptimizer;
    private readonly NaiveLoop naiveLoop;

    public ReferenceLoops(ArchitectureInfo info, Hyperparameters hyperparameters, ImageTensors train, RawSplit raw, Device device, int batchSize)
    {
        this.device = device;
        this.batchSize = batchSize;
        manual_seed(hyperparameters.Seed);
        bareModel = info.Create(hyperparameters);
        bareModel.to(device);
        bareOptimizer = TrainingEngine.CreateOptimizer(hyperparameters, bareModel.parameters());
        images = train.Images.narrow(0, 0, batchSize).clone();
        labels = train.Labels.narrow(0, 0, batchSize).clone();

        manual_seed(hyperparameters.Seed);
        naiveModel = info.Create(hyperparameters);
        naiveModel.to(device);
        naiveOptimizer = TrainingEngine.CreateOptimizer(hyperparameters, naiveModel.parameters());
        naiveLoop = new NaiveLoop(raw);
    }

    /// <summary>
    /// Images/s of each loop over <paramref name="steps"/> steps, the bare step first, each after
    /// <paramref name="warmUpSteps"/> untimed ones: coming back to a model after an engine epoch
    /// finds the caches cold, which the engine, in the middle of its epoch, does not pay.
    /// </summary>
    public (double Bare, double Naive) Measure(int warmUpSteps, int steps)
    {
        BareImagesPerSecond(warmUpSteps);
        var bare = BareImagesPerSecond(steps);
        naiveLoop.ImagesPerSecond(naiveModel, naiveOptimizer, device, batchSize, warmUpSteps);
        return (bare, naiveLoop.ImagesPerSecond(naiveModel, naiveOptimizer, device, batchSize, steps));
    }

    private double BareImagesPerSecond(int steps)
    {
        bareModel.train();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            bareOptimizer.zero_grad();
            nn.functional.cross_entropy(bareModel.call(images), labels).backward();
            bareOptimizer.step();
        }
        using (var probe = bareModel.parameters().First().sum()) probe.item<float>(); // wait for queued device work
        return steps * batchSize / clock.Elapsed.TotalSeconds;
    }

    public void Dispose()
    {
        bareOptimizer.Dispose();
        bareModel.Dispose();
        images.Dispose();
        labels.Dispose();
        naiveOptimizer.Dispose();
        naiveModel.Dispose();
    }
}
