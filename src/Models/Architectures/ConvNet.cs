using TorchSharp;
using TorchSharp.Modules;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainingService.Models.Architectures;

/// <summary>
/// The notebook's simple CNN, layer for layer: three Conv3×3(pad 1) → ReLU → MaxPool2 blocks
/// (1 → 32 → 64 → 128 channels, 28 → 14 → 7 → 3 pixels), then Flatten → Linear(1152, 256) → ReLU →
/// Dropout(0.5) → Linear(256, 10). Sequential indices match PyTorch's, so the state-dict keys are
/// <c>features.0.weight</c> … <c>classifier.4.bias</c>.
/// With a normalization other than none (not the notebook's), each block becomes Conv → Norm →
/// ReLU → MaxPool, so the convolutions sit at <c>features.0</c>, <c>.4</c>, <c>.8</c> and the
/// norms at <c>features.1</c>, <c>.5</c>, <c>.9</c>; the classifier has no normalization.
/// </summary>
public sealed class ConvNet : Module<Tensor, Tensor>
{
    private readonly Sequential features;
    private readonly Sequential classifier;

    /// <param name="inputChannels">Channels of the input images (1: grey).</param>
    /// <param name="numClasses">Outputs of the last layer: one logit per class.</param>
    public ConvNet(NormalizationKind normalization = NormalizationKind.None, int inputChannels = 1, int numClasses = 10) : base(nameof(ConvNet))
    {
        var blocks = new List<Module<Tensor, Tensor>>();
        foreach (var (inChannels, outChannels) in new[] { ((long)inputChannels, 32L), (32L, 64L), (64L, 128L) })
        {
            blocks.Add(Conv2d(inChannels, outChannels, kernel_size: 3, padding: 1));
            // None adds nothing (not an Identity), so the notebook's indices stay as they are.
            if (NormalizationLayers.ForFeatureMaps(normalization, outChannels) is { } norm)
                blocks.Add(norm);
            blocks.Add(ReLU());
            blocks.Add(MaxPool2d(2));
        }
        features = Sequential(blocks);
        classifier = Sequential(
            Flatten(),
            Linear(128 * 3 * 3, 256),
            ReLU(),
            Dropout(0.5),
            Linear(256, numClasses));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => classifier.call(features.call(input));
}
