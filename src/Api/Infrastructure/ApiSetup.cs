using System.Diagnostics;
using System.Reflection;
using Microsoft.OpenApi;
using TrainingService.Api.Infrastructure.OpenApi;

namespace TrainingService.Api.Infrastructure;

/// <summary>The API's cross-cutting setup: JSON, problem details, errors, and the OpenAPI document with Swagger UI.</summary>
public static class ApiSetup
{
    public const string DocumentName = "v1";
    public const string DocumentPath = "/swagger/v1/swagger.json";

    private const string ApiDescription = """
        Trains and evaluates the MNIST exercise's three architectures (convnet, resnet18, attention) as jobs, on
        MNIST, Fashion-MNIST or a dataset uploaded as IDX files (`POST /datasets`).

        Submit a job with `POST /jobs`; it is queued and run by a worker. Watch it with `GET /jobs/{id}`,
        read its per-epoch metrics with `GET /jobs/{id}/metrics` (JSON, CSV, or live as Server-Sent Events),
        cancel it with `POST /jobs/{id}/cancel`, and download its checkpoints (safetensors, loadable by PyTorch)
        from `GET /jobs/{id}/checkpoints/{epoch|best|final}`.

        Conventions: JSON in camelCase; enums as lowercase strings; times ISO 8601 in UTC; accuracies as
        fractions (0.9934). Every error is RFC 7807 problem details (`application/problem+json`); a 400 lists
        each offending field under `errors`, keyed by its JSON path (`hyperparameters.learningRate`).
        """;

    public static IServiceCollection AddApiJson(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(options => ApiJson.Configure(options.SerializerOptions));

    public static IServiceCollection AddApiProblemDetails(this IServiceCollection services) =>
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            // Which request failed, and the trace id to find it in the logs: all a client needs
            // to report a problem, and nothing about the server's internals.
            context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
            context.ProblemDetails.Extensions.TryAdd("traceId", Activity.Current?.Id ?? context.HttpContext.TraceIdentifier);
            // ASP.NET Core types the RFC 9110 statuses itself; 429 (RFC 6585) it leaves untyped, so
            // every status the API answers has a type a client can switch on.
            if (context.ProblemDetails.Status == StatusCodes.Status429TooManyRequests)
                context.ProblemDetails.Type ??= "https://tools.ietf.org/html/rfc6585#section-4";
            if (context.ProblemDetails.Status == StatusCodes.Status503ServiceUnavailable && DatabaseOutage.Is(context.Exception))
            {
                context.ProblemDetails.Title = "Service unavailable";
                context.ProblemDetails.Detail = "The job database is not answering right now; nothing was changed. Try again shortly.";
                context.HttpContext.Response.Headers.RetryAfter = DatabaseOutage.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        });

    public static IServiceCollection AddApiDocumentation(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc(DocumentName, new OpenApiInfo
            {
                Title = "TrainingService API",
                Version = DocumentName,
                Description = ApiDescription,
            });
            // The wire types' and handlers' XML comments are the descriptions Swagger shows.
            options.IncludeXmlComments(Assembly.GetExecutingAssembly());
            options.IncludeXmlComments(typeof(Contracts.Training.Hyperparameters).Assembly);
            options.SupportNonNullableReferenceTypes();
            // A property whose type is another schema (an enum, Hyperparameters) keeps its own description.
            options.UseAllOfToExtendReferenceSchemas();
            options.SchemaFilter<SchemaDocumentationFilter>();
            options.ParameterFilter<ParameterSchemaFilter>();
            options.OperationFilter<JsonRequestBodyFilter>();
            options.OperationFilter<ResponseContentExampleFilter>();
            options.OperationFilter<CommonResponsesFilter>();
        });
        return services;
    }

    /// <summary>
    /// Unhandled exceptions become a 500 problem with no stack trace (the exception is logged); an
    /// unreachable database becomes a 503 with Retry-After, since it passes by itself;
    /// Kestrel's own bad-request errors keep their status (413, 400…); and bare status codes
    /// from routing (an unknown URL's 404, a wrong method's 405) get a problem body as well.
    /// </summary>
    public static WebApplication UseApiErrorHandling(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => exception switch
            {
                BadHttpRequestException bad => bad.StatusCode,
                _ when DatabaseOutage.Is(exception) => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status500InternalServerError,
            },
        });
        app.UseStatusCodePages();
        return app;
    }

    public static WebApplication MapApiDocumentation(this WebApplication app)
    {
        // OpenAPI 3.1: a nullable property of another schema's type is anyOf [$ref, null], which 3.0 cannot say.
        app.MapSwagger("/swagger/{documentName}/swagger.json", options => options.OpenApiVersion = Microsoft.OpenApi.OpenApiSpecVersion.OpenApi3_1);
        app.UseSwaggerUI(options =>
        {
            options.RoutePrefix = "swagger";
            options.SwaggerEndpoint(DocumentPath, "TrainingService API v1");
            options.DocumentTitle = "TrainingService API";
        });
        return app;
    }
}
