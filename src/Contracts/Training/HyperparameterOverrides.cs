using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace TrainingService.Contracts.Training;

/// <summary>
/// A set of hyperparameter values laid over defaults, as JSON: a submission's <c>hyperparameters</c>
/// object, or the CLI's options. The fields are <see cref="Hyperparameters"/>' own (camelCase, enums by
/// their lowercase names), so requests, stored records, responses and the CLI share one list; a field
/// that is omitted or null keeps its default. Every problem is reported by field name.
/// </summary>
public static class HyperparameterOverrides
{
    /// <summary>The conventions of the API's request bodies: camelCase, lowercase enum names, numbers as numbers (NaN may be named).</summary>
    public static JsonSerializerOptions Json { get; } = CreateOptions();

    private static readonly JsonTypeInfo TypeInfo = Json.GetTypeInfo(typeof(Hyperparameters));

    /// <summary>The JSON names of the hyperparameters, in declaration order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. TypeInfo.Properties.Select(p => p.Name)];

    /// <summary>The type of the hyperparameter <paramref name="name"/> (its JSON name), or null.</summary>
    public static Type? TypeOf(string name) => TypeInfo.Properties.FirstOrDefault(p => p.Name == name)?.PropertyType;

    /// <summary>
    /// <paramref name="defaults"/> with the fields <paramref name="overrides"/> gives, each checked on
    /// its own and then all together (<see cref="HyperparameterValidator"/>), problems reported to
    /// <paramref name="error"/> by field; <paramref name="allowed"/>, when given, is the only fields
    /// that may be set (the others are refused with <paramref name="whyOthersNot"/>).
    /// </summary>
    public static Hyperparameters Apply(
        Hyperparameters defaults, JsonElement? overrides, Action<string, string> error, IReadOnlySet<string>? allowed = null, string? whyOthersNot = null)
    {
        var merged = JsonSerializer.SerializeToNode(defaults, Json)!.AsObject();
        foreach (var (name, value) in Read(overrides, error, allowed, whyOthersNot))
            merged[name] = value;
        var result = merged.Deserialize<Hyperparameters>(Json)!;
        foreach (var (field, messages) in HyperparameterValidator.Validate(result))
            foreach (var message in messages)
                error(field, message);
        return result;
    }

    /// <summary>The given, non-null fields that read as their type; the others are reported.</summary>
    private static List<(string Name, JsonNode Value)> Read(JsonElement? overrides, Action<string, string> error, IReadOnlySet<string>? allowed, string? whyOthersNot)
    {
        var given = new List<(string, JsonNode)>();
        if (overrides is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            return given;
        if (element.ValueKind != JsonValueKind.Object)
        {
            error("", $"Must be an object of hyperparameters ({string.Join(", ", Names)}).");
            return given;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var type = TypeOf(property.Name);
            if (!seen.Add(property.Name))
                error(property.Name, "Given more than once.");
            else if (type is null)
                error(property.Name, $"Unknown field; the fields here are: {string.Join(", ", Names)}.");
            else if (property.Value.ValueKind == JsonValueKind.Null)
                continue; // null means "the default", as omitting it does
            else if (allowed is not null && !allowed.Contains(property.Name))
                error(property.Name, whyOthersNot ?? "Not allowed here.");
            else if (Check(property.Value, type) is { } problem)
                error(property.Name, problem);
            else
                given.Add((property.Name, JsonNode.Parse(property.Value.GetRawText())!));
        }
        return given;
    }

    /// <summary>What is wrong with <paramref name="value"/> as a <paramref name="type"/>, or null.</summary>
    private static string? Check(JsonElement value, Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target.IsEnum)
        {
            // By name only: the serializer would also take numbers and comma lists ("batch,layer").
            var names = Enum.GetNames(target).Select(n => n.ToLowerInvariant()).ToArray();
            return value.ValueKind == JsonValueKind.String && names.Contains(value.GetRawText()[1..^1].ToLowerInvariant(), StringComparer.Ordinal)
                ? null
                : $"Must be one of: {string.Join(", ", names)}; got {Shorten(value.GetRawText())}.";
        }
        try
        {
            value.Deserialize(type, Json);
            return null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return $"Invalid value: expected {Describe(target)}.";
        }
    }

    private static string Describe(Type type) =>
        type == typeof(int) ? "an integer (32-bit)"
        : type == typeof(long) ? "an integer"
        : type == typeof(double) ? "a number"
        : type == typeof(string) ? "a string"
        : "a valid value";

    private static string Shorten(string value) => value.Length <= 64 ? value : value[..64] + "…";

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            PropertyNameCaseInsensitive = false,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            AllowDuplicateProperties = false,
            Converters = { new JsonStringEnumConverter(new LowerCase(), allowIntegerValues: false) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private sealed class LowerCase : JsonNamingPolicy
    {
        public override string ConvertName(string name) => name.ToLowerInvariant();
    }
}
