using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using TrainingService.Api.Infrastructure;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Jobs;

/// <summary>
/// A submission's <c>hyperparameters</c> object laid over a set of defaults. The fields are
/// <see cref="Hyperparameters"/>' own (by their JSON names), so the request, the stored record and
/// the response share one list; a field that is omitted or null keeps its default. Every problem is
/// reported under <c>hyperparameters.{field}</c>.
/// </summary>
public static class HyperparameterOverrides
{
    public const string Field = "hyperparameters";

    private static readonly JsonSerializerOptions Json = ApiJson.CreateStrictRequestOptions();
    private static readonly JsonTypeInfo TypeInfo = Json.GetTypeInfo(typeof(Hyperparameters));

    /// <summary>The JSON names of the hyperparameters, in declaration order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. TypeInfo.Properties.Select(p => p.Name)];

    /// <summary>
    /// <paramref name="defaults"/> with the fields <paramref name="overrides"/> gives, each checked on
    /// its own and then all together (<see cref="HyperparameterValidator"/>); <paramref name="allowed"/>,
    /// when given, is the only fields a client may set here.
    /// </summary>
    public static Hyperparameters Apply(Hyperparameters defaults, JsonElement? overrides, FieldErrors errors, IReadOnlySet<string>? allowed = null, string? whyOthersNot = null)
    {
        var given = Read(overrides, errors, allowed, whyOthersNot);
        var merged = JsonSerializer.SerializeToNode(defaults, Json)!.AsObject();
        foreach (var (name, value) in given)
            merged[name] = value;
        var result = merged.Deserialize<Hyperparameters>(Json)!;
        foreach (var (field, messages) in HyperparameterValidator.Validate(result))
            errors.Add($"{Field}.{field}", messages);
        return result;
    }

    /// <summary>The given, non-null fields that read as their type; the others are reported.</summary>
    private static List<(string Name, JsonNode Value)> Read(JsonElement? overrides, FieldErrors errors, IReadOnlySet<string>? allowed, string? whyOthersNot)
    {
        var given = new List<(string, JsonNode)>();
        if (overrides is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            return given;
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(Field, $"Must be an object of hyperparameters ({string.Join(", ", Names)}).");
            return given;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var field = $"{Field}.{property.Name}";
            var known = TypeInfo.Properties.FirstOrDefault(p => p.Name == property.Name);
            if (!seen.Add(property.Name))
                errors.Add(field, "Given more than once.");
            else if (known is null)
                errors.Add(field, $"Unknown field; the fields here are: {string.Join(", ", Names)}.");
            else if (property.Value.ValueKind == JsonValueKind.Null)
                continue; // null means "the default", as omitting it does
            else if (allowed is not null && !allowed.Contains(property.Name))
                errors.Add(field, whyOthersNot ?? "Not allowed here.");
            else if (TryRead(property.Value, known.PropertyType, field, errors))
                given.Add((property.Name, JsonNode.Parse(property.Value.GetRawText())!));
        }
        return given;
    }

    private static bool TryRead(JsonElement value, Type type, string field, FieldErrors errors)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target.IsEnum)
        {
            // By name only: the serializer would also take numbers and comma lists ("batch,layer").
            var names = Enum.GetNames(target).Select(n => n.ToLowerInvariant()).ToArray();
            if (value.ValueKind == JsonValueKind.String && names.Contains(value.GetRawText()[1..^1].ToLowerInvariant(), StringComparer.Ordinal))
                return true;
            errors.Add(field, $"Must be one of: {string.Join(", ", names)}; got {Problems.Shorten(value.GetRawText())}.");
            return false;
        }
        try
        {
            value.Deserialize(type, Json);
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            errors.Add(field, $"Invalid value: expected {JsonRequestBody.DescribeType(target, Json)}.");
            return false;
        }
    }
}
