using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Models.Architectures;

/// <summary>What the service knows about one architecture it can train.</summary>
public sealed record ArchitectureInfo(
    string Name,
    string Description,
    long ParameterCount,
    Hyperparameters Defaults,
    Func<nn.Module<Tensor, Tensor>> Create);

/// <summary>The three architectures, by the names jobs use: <c>convnet</c>, <c>resnet18</c>, <c>attention</c>.</summary>
public static class ArchitectureCatalog
{
    public const string ConvNetName = "convnet";
    public const string ResNet18Name = "resnet18";
    public const string AttentionName = "attention";

    // Defaults chosen to reach the target accuracies on MNIST (README, "Accuracy") in the fewest
    // epochs; the notebook's own settings are the "notebook" preset.
    public static readonly ArchitectureInfo ConvNet = new(
        ConvNetName,
        "The notebook's simple CNN: three Conv3x3-ReLU-MaxPool blocks (32, 64, 128 channels), then Linear(1152, 256), ReLU, Dropout(0.5), Linear(256, 10).",
        390_410,
        new Hyperparameters { Epochs = 3, BatchSize = 128, LearningRate = 0.002, Optimizer = OptimizerKind.Adam, LrSchedule = LearningRateSchedule.OneCycle },
        () => new ConvNet());

    public static readonly ArchitectureInfo ResNet18 = new(
        ResNet18Name,
        "The notebook's ResNet18 (BasicBlock, [2, 2, 2, 2]) with BatchNorm, a 7x7 stride-2 stem taking 1 channel, and a 10-class head.",
        11_175_434,
        new Hyperparameters { Epochs = 2, BatchSize = 128, LearningRate = 0.002, Optimizer = OptimizerKind.Adam, LrSchedule = LearningRateSchedule.OneCycle },
        () => ResNet.ResNet18());

    public static readonly ArchitectureInfo Attention = new(
        AttentionName,
        "The notebook's single-head self-attention in a small classifier: 16 patches of 7x7 embedded to 128, learned positions, one pre-norm attention + MLP block with LayerNorm, mean pooling, linear head.",
        191_754,
        new Hyperparameters { Epochs = 10, BatchSize = 128, LearningRate = 0.002, Optimizer = OptimizerKind.AdamW, WeightDecay = 0.05, LrSchedule = LearningRateSchedule.OneCycle },
        () => new AttentionClassifier());

    public static IReadOnlyList<ArchitectureInfo> All { get; } = [ConvNet, ResNet18, Attention];

    public static ArchitectureInfo? Find(string? name) =>
        All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.Ordinal));

    public static ArchitectureInfo Get(string name) =>
        Find(name) ?? throw new ArgumentException(
            $"Unknown architecture '{name}'; expected one of: {string.Join(", ", All.Select(a => a.Name))}.", nameof(name));

    /// <summary>The notebook's own training settings for the CNN: Adam at lr 0.01, batch 64, 20 epochs, no schedule.</summary>
    public static Hyperparameters NotebookPreset { get; } = new()
    {
        Epochs = 20, BatchSize = 64, LearningRate = 0.01, Optimizer = OptimizerKind.Adam, LrSchedule = LearningRateSchedule.Constant,
    };
}
