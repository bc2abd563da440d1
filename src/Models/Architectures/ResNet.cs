using TorchSharp;
using TorchSharp.Modules;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainingService.Models.Architectures;

/// <summary>
/// The notebook's <c>BasicBlock</c> with its forward completed the standard way:
/// conv1 → bn1 → relu → conv2 → bn2, plus the identity (or <c>downsample(x)</c> when the shape
/// changes), then relu. <c>bn1</c> and <c>bn2</c> keep torchvision's names whatever the
/// normalization (torchvision's <c>norm_layer</c> does the same); with none they are Identity.
/// </summary>
public sealed class BasicBlock : Module<Tensor, Tensor>
{
    public const int Expansion = 1;

    private readonly Conv2d conv1;
    private readonly Module<Tensor, Tensor> bn1;
    private readonly ReLU relu;
    private readonly Conv2d conv2;
    private readonly Module<Tensor, Tensor> bn2;
    private readonly Sequential? downsample;

    public BasicBlock(long inChannels, long outChannels, long stride = 1, Sequential? downsample = null,
        NormalizationKind normalization = NormalizationKind.Batch)
        : base(nameof(BasicBlock))
    {
        conv1 = Conv2d(inChannels, outChannels, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn1 = NormalizationLayers.ForFeatureMapsOrIdentity(normalization, outChannels);
        relu = ReLU(inplace: true);
        conv2 = Conv2d(outChannels, outChannels, kernel_size: 3, stride: 1, padding: 1, bias: false);
        bn2 = NormalizationLayers.ForFeatureMapsOrIdentity(normalization, outChannels);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var identity = downsample is null ? x : downsample.call(x);
        var @out = relu.call(bn1.call(conv1.call(x)));
        @out = bn2.call(conv2.call(@out));
        return relu.call(@out.add_(identity)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The notebook's <c>ResNet(BasicBlock, [2, 2, 2, 2])</c> — ResNet18 — for MNIST: the 7×7 stride-2
/// stem keeps the notebook's bias but takes 1 input channel; 10 classes. The normalization
/// (BatchNorm in the notebook) is used at every place the notebook has a BatchNorm2d: <c>bn1</c>
/// after the stem, <c>bn1</c>/<c>bn2</c> in each block and <c>downsample.1</c>.
/// </summary>
public sealed class ResNet : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly Module<Tensor, Tensor> bn1;
    private readonly ReLU relu;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly AdaptiveAvgPool2d avgpool;
    private readonly Linear fc;

    private readonly NormalizationKind normalization;
    private long inChannels = 64;

    public static ResNet ResNet18(int numClasses = 10, int inputChannels = 1, NormalizationKind normalization = NormalizationKind.Batch) =>
        new([2, 2, 2, 2], numClasses, inputChannels, normalization);

    public ResNet(IReadOnlyList<int> layers, int numClasses = 10, int inputChannels = 1, NormalizationKind normalization = NormalizationKind.Batch)
        : base(nameof(ResNet))
    {
        this.normalization = normalization;
        conv1 = Conv2d(inputChannels, 64, kernel_size: 7, stride: 2, padding: 3);
        bn1 = NormalizationLayers.ForFeatureMapsOrIdentity(normalization, 64);
        relu = ReLU(inplace: true);
        maxpool = MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
        layer1 = MakeLayer(64, layers[0]);
        layer2 = MakeLayer(128, layers[1], stride: 2);
        layer3 = MakeLayer(256, layers[2], stride: 2);
        layer4 = MakeLayer(512, layers[3], stride: 2);
        avgpool = AdaptiveAvgPool2d(1);
        fc = Linear(512 * BasicBlock.Expansion, numClasses);
        RegisterComponents();
    }

    private Sequential MakeLayer(long outChannels, int blocks, long stride = 1)
    {
        Sequential? downsample = null;
        if (stride != 1 || inChannels != outChannels * BasicBlock.Expansion)
        {
            downsample = Sequential(
                Conv2d(inChannels, outChannels * BasicBlock.Expansion, kernel_size: 1, stride: stride, bias: false),
                NormalizationLayers.ForFeatureMapsOrIdentity(normalization, outChannels * BasicBlock.Expansion));
        }

        var stage = new List<Module<Tensor, Tensor>> { new BasicBlock(inChannels, outChannels, stride, downsample, normalization) };
        inChannels = outChannels * BasicBlock.Expansion;
        for (var i = 1; i < blocks; i++)
            stage.Add(new BasicBlock(inChannels, outChannels, normalization: normalization));
        return Sequential(stage);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = maxpool.call(relu.call(bn1.call(conv1.call(x))));
        x = layer4.call(layer3.call(layer2.call(layer1.call(x))));
        x = flatten(avgpool.call(x), 1);
        return fc.call(x).MoveToOuterDisposeScope();
    }
}
