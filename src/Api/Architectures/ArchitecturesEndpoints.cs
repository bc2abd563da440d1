using Microsoft.AspNetCore.Http.HttpResults;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Contracts.Architectures;

namespace TrainingService.Api.Architectures;

/// <summary><c>/architectures</c>: what can be trained, and with which defaults.</summary>
public static class ArchitecturesEndpoints
{
    public static IEndpointRouteBuilder MapArchitecturesEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/architectures").WithTags("Architectures");

        group.MapGet("/", List)
            .WithName("ListArchitectures")
            .WithSummary("List the architectures")
            .WithDescription("""
                The three architectures a job can train — the exercise's convnet, resnet18 and attention — with
                their parameter counts, the hyperparameters a job gets when it overrides none, and the values the
                normalization hyperparameter takes (batch, layer, group, none) with each one's parameter count.
                """);

        group.MapGet("/{name}", Get)
            .WithName("GetArchitecture")
            .WithSummary("Get an architecture")
            .WithDescription("One architecture by name (convnet, resnet18 or attention); any other name gives 404.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static Ok<IReadOnlyList<ArchitectureResponse>> List() =>
        TypedResults.Ok<IReadOnlyList<ArchitectureResponse>>([.. ArchitectureCatalog.All.Select(ArchitectureResponse.From)]);

    private static Results<Ok<ArchitectureResponse>, ProblemHttpResult> Get(
        [ParameterSchema(Values = [ArchitectureCatalog.ConvNetName, ArchitectureCatalog.ResNet18Name, ArchitectureCatalog.AttentionName],
            Description = "The architecture's name.", Example = ArchitectureCatalog.ConvNetName)] string name) =>
        ArchitectureCatalog.Find(name) is { } architecture
            ? TypedResults.Ok(ArchitectureResponse.From(architecture))
            : Problems.NotFound($"There is no architecture '{Problems.Shorten(name)}'; there are {string.Join(", ", ArchitectureCatalog.All.Select(a => a.Name))}.");
}
