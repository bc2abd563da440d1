using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Training;
using static TorchSharp.torch;

namespace TrainingService.Models.Architectures;

/// <summary>Builds the model an <see cref="ArchitectureInfo"/> of the catalogue describes, by its name.</summary>
public static class ArchitectureModels
{
    /// <summary>A new model with the given normalization, on the CPU.</summary>
    public static nn.Module<Tensor, Tensor> Create(this ArchitectureInfo architecture, NormalizationKind normalization) =>
        architecture.Name switch
        {
            ArchitectureCatalog.ConvNetName => new ConvNet(normalization),
            ArchitectureCatalog.ResNet18Name => ResNet.ResNet18(normalization: normalization),
            ArchitectureCatalog.AttentionName => new AttentionClassifier(normalization: normalization),
            _ => throw new ArgumentException($"This build has no model for architecture '{architecture.Name}'.", nameof(architecture)),
        };

    /// <summary>A new model with the architecture's default normalization, on the CPU.</summary>
    public static nn.Module<Tensor, Tensor> Create(this ArchitectureInfo architecture) =>
        architecture.Create(architecture.DefaultNormalization);

    /// <summary>A new model as these hyperparameters describe it, on the CPU.</summary>
    public static nn.Module<Tensor, Tensor> Create(this ArchitectureInfo architecture, Hyperparameters hyperparameters) =>
        architecture.Create(architecture.NormalizationOf(hyperparameters));
}
