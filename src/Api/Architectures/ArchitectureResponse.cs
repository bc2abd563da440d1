using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Jobs;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Architectures;

/// <summary>An architecture a job can train.</summary>
public sealed record ArchitectureResponse : IOpenApiExample<ArchitectureResponse>
{
    /// <summary>The name jobs use.</summary>
    public required string Name { get; init; }

    /// <summary>What it is.</summary>
    public required string Description { get; init; }

    /// <summary>Trainable parameters.</summary>
    public required long ParameterCount { get; init; }

    /// <summary>The hyperparameters of a job that overrides none.</summary>
    public required HyperparameterValues DefaultHyperparameters { get; init; }

    /// <summary>Every value the <c>normalization</c> hyperparameter takes for this architecture, with the parameter count each gives.</summary>
    public required IReadOnlyList<NormalizationVariantResponse> Normalizations { get; init; }

    public static ArchitectureResponse Example { get; } = From(ArchitectureCatalog.ConvNet);

    public static ArchitectureResponse From(ArchitectureInfo architecture) => new()
    {
        Name = architecture.Name,
        Description = architecture.Description,
        ParameterCount = architecture.ParameterCount,
        DefaultHyperparameters = HyperparameterValues.From(architecture.Defaults, architecture.DefaultNormalization),
        Normalizations = [.. Enum.GetValues<NormalizationKind>().Select(kind => new NormalizationVariantResponse
        {
            Normalization = kind,
            ParameterCount = architecture.ParameterCounts[kind],
            IsDefault = kind == architecture.DefaultNormalization,
        })],
    };
}

/// <summary>One normalization an architecture can be trained with.</summary>
public sealed record NormalizationVariantResponse : IOpenApiExample<NormalizationVariantResponse>
{
    /// <summary>The value of the <c>normalization</c> hyperparameter: batch, layer, group or none.</summary>
    public required NormalizationKind Normalization { get; init; }

    /// <summary>Trainable parameters with this normalization (running statistics are not parameters).</summary>
    public required long ParameterCount { get; init; }

    /// <summary>Whether a job that names no normalization gets this one (the notebook's choice).</summary>
    public required bool IsDefault { get; init; }

    public static NormalizationVariantResponse Example { get; } = new() { Normalization = NormalizationKind.Batch, ParameterCount = 390_858, IsDefault = false };
}
