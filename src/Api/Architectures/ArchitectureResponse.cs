using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Jobs;
using TrainingService.Models.Architectures;

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

    public static ArchitectureResponse Example { get; } = From(ArchitectureCatalog.ConvNet);

    public static ArchitectureResponse From(ArchitectureInfo architecture) => new()
    {
        Name = architecture.Name,
        Description = architecture.Description,
        ParameterCount = architecture.ParameterCount,
        DefaultHyperparameters = HyperparameterValues.From(architecture.Defaults),
    };
}
