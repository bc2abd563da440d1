using TorchSharp;
using TrainingService.Models.Data;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Benchmark;

/// <summary>
/// The baseline: a training loop written the way the notebook's PyTorch does it — a per-sample
/// dataset whose indexer applies ToTensor + Normalize to one image at a time, a DataLoader-style
/// batcher that gathers shuffled samples into a new managed array and copies it to the device
/// every step, and <c>loss.item()</c> read every step.
/// </summary>
internal sealed class NaiveLoop(RawSplit raw)
{
    /// <summary>Like torchvision's MNIST __getitem__ + transforms: a new normalised array per sample.</summary>
    private (float[] Image, long Label) GetItem(int index)
    {
        const int pixels = MnistCatalog.ImageRows * MnistCatalog.ImageColumns;
        var image = new float[pixels];
        for (var p = 0; p < pixels; p++)
            image[p] = (raw.Pixels[index * pixels + p] / 255f - 0.5f) / 0.5f;
        return (image, raw.Labels[index]);
    }

    public double ImagesPerSecond(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, Device device, int batchSize, int steps)
    {
        var random = new Random(1);
        var order = Enumerable.Range(0, raw.Count).ToArray();
        random.Shuffle(order);
        model.train();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var lossTotal = 0.0;
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var samples = Enumerable.Range(step * batchSize % (raw.Count - batchSize), batchSize).Select(i => GetItem(order[i])).ToList();
            var batchPixels = samples.SelectMany(s => s.Image).ToArray();
            var batchLabels = samples.Select(s => s.Label).ToArray();
            var images = tensor(batchPixels, [batchSize, 1, MnistCatalog.ImageRows, MnistCatalog.ImageColumns]).to(device);
            var labels = tensor(batchLabels).to(device);

            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(images), labels);
            loss.backward();
            optimizer.step();
            lossTotal += loss.item<float>();
        }
        return steps * batchSize / clock.Elapsed.TotalSeconds;
    }
}
