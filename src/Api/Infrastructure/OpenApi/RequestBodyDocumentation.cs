using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace TrainingService.Api.Infrastructure.OpenApi;

/// <summary>
/// Endpoint metadata documenting a JSON body the handler reads itself. <c>Accepts&lt;T&gt;()</c>
/// would document it too, but it also makes routing answer a wrong Content-Type with its own bare
/// 415 before the handler can say what is accepted.
/// </summary>
public sealed record JsonRequestBodyDocumentation(Type BodyType, string Description);

/// <summary>Turns <see cref="JsonRequestBodyDocumentation"/> into the operation's request body.</summary>
public sealed class JsonRequestBodyFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var body = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<JsonRequestBodyDocumentation>().FirstOrDefault();
        if (body is null)
            return;
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Description = body.Description,
            Content = new Dictionary<string, IOpenApiMediaType>
            {
                ["application/json"] = new OpenApiMediaType { Schema = context.SchemaGenerator.GenerateSchema(body.BodyType, context.SchemaRepository) },
            },
        };
    }
}
