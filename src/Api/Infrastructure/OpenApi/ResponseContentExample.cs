using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace TrainingService.Api.Infrastructure.OpenApi;

/// <summary>
/// Endpoint metadata for a response representation that has no JSON schema of its own
/// (<c>text/event-stream</c>, <c>text/csv</c>, <c>application/octet-stream</c>): its media type,
/// what it is, and a sample of it for Swagger UI.
/// </summary>
public sealed record ResponseContentExample(int StatusCode, string ContentType, string Example, bool Binary = false);

/// <summary>Adds each <see cref="ResponseContentExample"/> of an endpoint to its operation's responses.</summary>
public sealed class ResponseContentExampleFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        foreach (var sample in context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<ResponseContentExample>())
        {
            operation.Responses ??= [];
            var key = sample.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!operation.Responses.TryGetValue(key, out var existing) || existing is not OpenApiResponse response)
            {
                response = new OpenApiResponse { Description = DescribeStatus(sample.StatusCode) };
                operation.Responses[key] = response;
            }
            response.Content ??= new Dictionary<string, IOpenApiMediaType>();
            response.Content[sample.ContentType] = new OpenApiMediaType
            {
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = sample.Binary ? "binary" : null },
                Example = sample.Binary ? null : JsonValue.Create(sample.Example),
            };
        }
    }

    private static string DescribeStatus(int statusCode) => statusCode switch
    {
        200 => "OK",
        206 => "Partial Content",
        _ => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(statusCode),
    };
}
