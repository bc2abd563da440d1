using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Datasets;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Models.Architectures;

/// <summary>Builds the model an <see cref="ArchitectureInfo"/> of the catalogue describes, by its name.</summary>
public static class ArchitectureModels
{
    /// <summary>A new model with the given normalization for 28×28 grey images in 10 classes, on the CPU.</summary>
    public static nn.Module<Tensor, Tensor> Create(this ArchitectureInfo architecture, NormalizationKind normalization) =>
        architecture.Create(normalization, ImageGeometry.Mnist);

    /// <summary>
    /// A new model with the given normalization for a dataset of <paramref name="geometry"/> (its
    /// input channels and class count come from it), on the CPU.
    /// </summary>
    /// <exception cref="TrainingException">The architecture does not take that geometry (<see cref="ArchitectureInfo.Geometries"/>).</exception>
    public static nn.Module<Tensor, Tensor> Create(this ArchitectureInfo architecture, NormalizationKind normalization, ImageGeometry geometry)
    {
        if (architecture.GeometryProblem(geometry, "given") is { } problem)
            throw new TrainingException(TrainingFailureKind.InvalidInput, problem);
        return architecture.Name switch
        {
            ArchitectureCatalog.ConvNetName => new ConvNet(normalization, geometry.Channels, geometry.ClassCount),
            ArchitectureCatalog.ResNet18Name => ResNet.ResNet18(geometry.ClassCount, geometry.Channels, normalization),
            ArchitectureCatalog.AttentionName => new AttentionClassifier(geometry.ClassCount, normalization),
            _ => throw new ArgumentException($"This build has no model for architecture '{architecture.Name}'.", nameof(architecture)),
        };
    }

    /// <summary>A new model with the architecture's default normalization, on the CPU.</summary>
    public static nn.Module<Tensor, Tensor> Create(this ArchitectureInfo architecture) =>
        architecture.Create(architecture.DefaultNormalization);

    /// <summary>A new model as these hyperparameters describe it, for 28×28 grey images in 10 classes, on the CPU.</summary>
    public static nn.Module<Tensor, Tensor> Create(this ArchitectureInfo architecture, Hyperparameters hyperparameters) =>
        architecture.Create(architecture.NormalizationOf(hyperparameters));

    /// <summary>A new model as these hyperparameters describe it, for a dataset of <paramref name="geometry"/>, on the CPU.</summary>
    public static nn.Module<Tensor, Tensor> Create(this ArchitectureInfo architecture, Hyperparameters hyperparameters, ImageGeometry geometry) =>
        architecture.Create(architecture.NormalizationOf(hyperparameters), geometry);
}
