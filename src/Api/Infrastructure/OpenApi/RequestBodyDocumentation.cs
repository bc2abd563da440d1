using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace TrainingService.Api.Infrastructure.OpenApi;

/// <summary>
/// Endpoint metadata documenting a body the handler reads itself (JSON, unless <paramref name="MediaType"/>
/// says otherwise: a multipart form's fields are <paramref name="BodyType"/>'s properties). <c>Accepts&lt;T&gt;()</c>
/// would document it too, but it also makes routing answer a wrong Content-Type with its own bare
/// 415 before the handler can say what is accepted.
/// </summary>
public sealed record JsonRequestBodyDocumentation(Type BodyType, string Description, string MediaType = "application/json");

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
                [body.MediaType] = new OpenApiMediaType { Schema = context.SchemaGenerator.GenerateSchema(body.BodyType, context.SchemaRepository) },
            },
        };
    }
}
