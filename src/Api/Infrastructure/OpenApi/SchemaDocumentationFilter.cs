using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;
using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Infrastructure.OpenApi;

/// <summary>
/// Gives every schema in the document an example and a description. Wire types bring their own
/// example (<see cref="IOpenApiExample{TSelf}"/>) and their XML comments; the types that come from
/// elsewhere (the contract's enums, ASP.NET's problem details) get theirs here. Examples are
/// serialised with the API's own JSON options, so they show exactly what goes over the wire.
/// </summary>
public sealed class SchemaDocumentationFilter(IOptions<JsonOptions> jsonOptions) : ISchemaFilter
{
    private static readonly Dictionary<Type, string> Descriptions = new()
    {
        [typeof(JobKind)] = "train: train an architecture on a dataset (MNIST unless the job names another). eval: evaluate a training job's checkpoint on a test set (its source's dataset's unless the job names another).",
        [typeof(JobStatus)] = "Where a job is in its lifecycle. queued → running → succeeded | failed; cancelling → cancelled when "
            + "cancelled while running; interrupted while a lost or stopped worker's job waits to resume from its last checkpoint. "
            + "Terminal: succeeded, failed, cancelled.",
        [typeof(JobErrorKind)] = "user: the job's own inputs made it fail (not retried). infrastructure: the machinery failed (retried). "
            + "timeout: it ran past its maximum run time.",
        [typeof(OptimizerKind)] = "adam, adamw (decoupled weight decay) or sgd (with momentum).",
        [typeof(NormalizationKind)] = "batch (BatchNorm: each channel over the batch, running statistics in evaluation), layer (each "
            + "sample over channels × height × width; LayerNorm per token for attention), group (GroupNorm, 8 groups, per sample or "
            + "token) or none. Defaults: none for convnet, batch for resnet18, layer for attention.",
        [typeof(LearningRateSchedule)] = "constant; step (× stepGamma every stepEpochs); cosine (to 0 over the run); "
            + "onecycle (linear warm-up over 30 % of steps, then cosine to 0).",
        [typeof(Microsoft.AspNetCore.Mvc.ProblemDetails)] = "An RFC 7807 error: what went wrong (title, detail), the status, the "
            + "request (instance) and the trace id to find it in the logs.",
        [typeof(HttpValidationProblemDetails)] = "An RFC 7807 validation error: errors lists each offending field by its JSON path "
            + "(or parameter name), with what is wrong with it.",
    };

    private readonly JsonSerializerOptions json = jsonOptions.Value.SerializerOptions;

    // A request example shows only what a client would send: its null fields mean "omitted" and
    // would only be noise. Responses keep their nulls, since those fields are always there.
    private readonly JsonSerializerOptions requestJson = new(jsonOptions.Value.SerializerOptions)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema target)
            return;
        var type = Nullable.GetUnderlyingType(context.Type) ?? context.Type;
        if (string.IsNullOrWhiteSpace(target.Description) && Descriptions.TryGetValue(type, out var description))
            target.Description = description;
        // A submission's hyperparameters are Hyperparameters' own fields, every one optional: one list for request and response.
        if (type == typeof(Jobs.CreateJobRequest) && target.Properties?.ContainsKey("hyperparameters") == true)
            target.Properties["hyperparameters"] = new OpenApiSchema
            {
                AllOf = [context.SchemaGenerator.GenerateSchema(typeof(Hyperparameters), context.SchemaRepository)],
                Description = target.Properties["hyperparameters"].Description,
            };
        // Its expectations are a map of figure to bound.
        if (type == typeof(Jobs.CreateJobRequest) && target.Properties?.ContainsKey("expect") == true)
            target.Properties["expect"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object | JsonSchemaType.Null,
                AdditionalProperties = context.SchemaGenerator.GenerateSchema(typeof(Contracts.ExpectationBound), context.SchemaRepository),
                Description = target.Properties["expect"].Description,
            };
        NameTheTypeOfNullableReferences(target, context);
        // JSON Schema's "examples" (OpenAPI 3.1): Microsoft.OpenApi 3 retires the single "example".
        if (target.Examples is not { Count: > 0 } && ExampleFor(type) is { } example)
            target.Examples = [example];
    }

    /// <summary>
    /// A nullable property of another schema's type comes out as <c>allOf: [$ref]</c> with <c>nullable</c>
    /// and no <c>type</c>, which OpenAPI 3.0.3 on says means nothing (and validators reject): it gets the
    /// referenced schema's type beside it.
    /// </summary>
    private static void NameTheTypeOfNullableReferences(OpenApiSchema schema, SchemaFilterContext context)
    {
        foreach (var property in (schema.Properties ?? new Dictionary<string, IOpenApiSchema>()).Values.OfType<OpenApiSchema>())
        {
            if (property.Type != JsonSchemaType.Null || property.AllOf is not [OpenApiSchemaReference reference])
                continue;
            if (reference.Reference.Id is { } id && context.SchemaRepository.Schemas.TryGetValue(id, out var target) && target.Type is { } type)
                property.Type = type | JsonSchemaType.Null;
        }
    }

    private JsonNode? ExampleFor(Type type)
    {
        if (type.IsEnum)
            return JsonSerializer.SerializeToNode(Enum.GetValues(type).GetValue(0), type, json);
        if (type == typeof(HttpValidationProblemDetails))
            return ValidationProblemExample();
        if (type == typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))
            return ProblemExample();
        if (type == typeof(Contracts.ExpectationBound))
            return new JsonObject { ["min"] = 0.99 };
        if (type == typeof(Contracts.ExpectationOutcome))
            return new JsonObject { ["figure"] = "testAccuracy", ["min"] = 0.99, ["max"] = null, ["value"] = 0.9934, ["held"] = true };
        if (type == typeof(Hyperparameters))
            return JsonSerializer.SerializeToNode(Contracts.Architectures.ArchitectureCatalog.ConvNet.Defaults, json);

        var isExampleProvider = type.GetInterfaces().Any(i =>
            i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IOpenApiExample<>) && i.GetGenericArguments()[0] == type);
        if (!isExampleProvider)
            return null;
        var example = type.GetProperty("Example", BindingFlags.Public | BindingFlags.Static)?.GetValue(null);
        return example is null ? null : JsonSerializer.SerializeToNode(example, type, type.Name.EndsWith("Request", StringComparison.Ordinal) ? requestJson : json);
    }

    private static JsonObject ProblemExample() => new()
    {
        ["type"] = "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        ["title"] = "Not found",
        ["status"] = 404,
        ["detail"] = "There is no job '0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e'.",
        ["instance"] = "/jobs/0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e",
        ["traceId"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    };

    private static JsonObject ValidationProblemExample() => new()
    {
        ["type"] = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        ["title"] = "One or more validation errors occurred.",
        ["status"] = 400,
        ["instance"] = "/jobs",
        ["errors"] = new JsonObject
        {
            ["architecture"] = new JsonArray("Must be one of: convnet, resnet18, attention; got 'vgg16'."),
            ["hyperparameters.learningRate"] = new JsonArray("Must be a finite number greater than 0 and at most 10; got NaN."),
        },
        ["traceId"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    };
}
