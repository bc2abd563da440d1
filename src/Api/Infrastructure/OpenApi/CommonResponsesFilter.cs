using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace TrainingService.Api.Infrastructure.OpenApi;

/// <summary>
/// Any operation can fail with a 500, and that answer is problem details too; documenting it on
/// every operation here saves repeating <c>ProducesProblem(500)</c> on each endpoint.
/// </summary>
public sealed class CommonResponsesFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        operation.Responses ??= [];
        if (operation.Responses.ContainsKey("500"))
            return;
        var problem = context.SchemaGenerator.GenerateSchema(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), context.SchemaRepository);
        operation.Responses["500"] = new OpenApiResponse
        {
            Description = "An unexpected server fault, as problem details without internals.",
            Content = new Dictionary<string, IOpenApiMediaType>
            {
                ["application/problem+json"] = new OpenApiMediaType { Schema = problem },
            },
        };
    }
}
