using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace TrainingService.Api.Infrastructure.OpenApi;

/// <summary>
/// The documented schema of a query or header parameter that the handler binds as a raw string.
/// Handlers parse such parameters themselves so a bad value comes back as a 400 naming the
/// parameter (minimal-API binding would answer a bare 400); this keeps the OpenAPI document
/// saying what the parameter really is.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class ParameterSchemaAttribute : Attribute
{
    /// <summary>A JSON schema type name: <c>integer</c>, <c>string</c>, <c>boolean</c>.</summary>
    public string Type { get; init; } = "string";

    public double Minimum { get; init; } = double.NaN;

    public double Maximum { get; init; } = double.NaN;

    /// <summary>The value used when the parameter is omitted, as the JSON literal (<c>50</c>, <c>false</c>).</summary>
    public string? Default { get; init; }

    /// <summary>For an enumerated string: the accepted values.</summary>
    public string[]? Values { get; init; }

    /// <summary>A value for Swagger UI's example, as a JSON literal or a string.</summary>
    public string? Example { get; init; }

    public string? Description { get; init; }
}

/// <summary>Applies <see cref="ParameterSchemaAttribute"/> to the parameter's schema and description.</summary>
public sealed class ParameterSchemaFilter : IParameterFilter
{
    public void Apply(IOpenApiParameter parameter, ParameterFilterContext context)
    {
        var attribute = context.ParameterInfo?.GetCustomAttributes(typeof(ParameterSchemaAttribute), inherit: false)
            .OfType<ParameterSchemaAttribute>().FirstOrDefault();
        if (attribute is null || parameter is not OpenApiParameter target)
            return;

        var schema = new OpenApiSchema
        {
            Type = attribute.Type switch
            {
                "integer" => JsonSchemaType.Integer,
                "boolean" => JsonSchemaType.Boolean,
                _ => JsonSchemaType.String,
            },
        };
        if (!double.IsNaN(attribute.Minimum))
            schema.Minimum = attribute.Minimum.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!double.IsNaN(attribute.Maximum))
            schema.Maximum = attribute.Maximum.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (attribute.Default is not null)
            schema.Default = Literal(attribute.Default, schema.Type);
        if (attribute.Values is { Length: > 0 } values)
            schema.Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))];
        target.Schema = schema;
        if (attribute.Example is not null)
            target.Example = Literal(attribute.Example, schema.Type);
        if (attribute.Description is not null)
            target.Description = attribute.Description;
    }

    /// <summary>A default or example as the parameter's type: a string parameter's "3" stays a string.</summary>
    private static JsonNode? Literal(string value, JsonSchemaType? type)
    {
        if (type == JsonSchemaType.String)
            return JsonValue.Create(value);
        try
        {
            return JsonNode.Parse(value);
        }
        catch (System.Text.Json.JsonException)
        {
            return JsonValue.Create(value);
        }
    }
}
