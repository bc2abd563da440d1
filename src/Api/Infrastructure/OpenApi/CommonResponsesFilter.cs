using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace TrainingService.Api.Infrastructure.OpenApi;

/// <summary>
/// Any operation can fail with a 500, or with a 503 while the database is away, and those answers
/// are problem details too; documenting them on every operation here saves repeating
/// <c>ProducesProblem(500)</c> and <c>ProducesProblem(503)</c> on each endpoint.
/// </summary>
public sealed class CommonResponsesFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        operation.Responses ??= [];
        var problem = context.SchemaGenerator.GenerateSchema(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), context.SchemaRepository);
        Add(operation, "500", "An unexpected server fault, as problem details without internals.", problem);
        Add(operation, "503", "The job database is not answering (a restart or an outage); nothing was changed. Retry after the Retry-After seconds.", problem);
    }

    private static void Add(OpenApiOperation operation, string status, string description, IOpenApiSchema problem)
    {
        if (operation.Responses!.ContainsKey(status))
            return;
        operation.Responses[status] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, IOpenApiMediaType>
            {
                ["application/problem+json"] = new OpenApiMediaType { Schema = problem },
            },
        };
    }
}
