using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainingService.Models.Architectures;

/// <summary>
/// The notebook's simple CNN, layer for layer: three Conv3×3(pad 1) → ReLU → MaxPool2 blocks
/// (1 → 32 → 64 → 128 channels, 28 → 14 → 7 → 3 pixels), then Flatten → Linear(1152, 256) → ReLU →
/// Dropout(0.5) → Linear(256, 10). Sequential indices match PyTorch's, so the state-dict keys are
/// <c>features.0.weight</c> … <c>classifier.4.bias</c>.
/// </summary>
public sealed class ConvNet : Module<Tensor, Tensor>
{
    private readonly Sequential features;
    private readonly Sequential classifier;

    public ConvNet() : base(nameof(ConvNet))
    {
        features = Sequential(
            Conv2d(1, 32, kernel_size: 3, padding: 1),
            ReLU(),
            MaxPool2d(2),
            Conv2d(32, 64, kernel_size: 3, padding: 1),
            ReLU(),
            MaxPool2d(2),
            Conv2d(64, 128, kernel_size: 3, padding: 1),
            ReLU(),
            MaxPool2d(2));
        classifier = Sequential(
            Flatten(),
            Linear(128 * 3 * 3, 256),
            ReLU(),
            Dropout(0.5),
            Linear(256, 10));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => classifier.call(features.call(input));
}
