using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace TrainingService.Api.Security;

/// <summary>The API-key scheme in the OpenAPI document, so Swagger UI's Authorize button sends the key.</summary>
public static class ApiKeySecurityDocumentation
{
    public static IServiceCollection AddApiKeySecurityDocumentation(this IServiceCollection services)
    {
        services.ConfigureSwaggerGen(options =>
        {
            options.AddSecurityDefinition(ApiKeyAuthenticationHandler.SchemeName, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.ApiKeyHeader,
                Description = "An API key (made with `trainingservice keys create --name NAME`), sent as `X-Api-Key`; "
                    + "`Authorization: Bearer <key>` works too. Needed for every /jobs, /sweeps, /webhooks and /datasets operation when authentication is on (Auth:Enabled).",
            });
            options.OperationFilter<ApiKeySecurityFilter>();
        });
        return services;
    }

    /// <summary>Marks the operations that need a key, so Swagger UI's Authorize button sends it.</summary>
    private sealed class ApiKeySecurityFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var path = context.ApiDescription.RelativePath ?? "";
            if (!path.StartsWith("jobs", StringComparison.Ordinal) && !path.StartsWith("sweeps", StringComparison.Ordinal)
                && !path.StartsWith("webhooks", StringComparison.Ordinal) && !path.StartsWith("datasets", StringComparison.Ordinal))
                return;
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, context.Document)] = [],
            });
            operation.Responses ??= [];
            operation.Responses.TryAdd("401", new OpenApiResponse { Description = "Authentication is on and no valid API key was sent (problem details, with WWW-Authenticate)." });
        }
    }
}
