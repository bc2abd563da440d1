using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrainingService.Storage;

/// <summary>
/// The JSON settings for everything the stores keep as JSON (hyperparameters, tags, source,
/// progress, result, error, checkpoint metrics, worker queues), shared so both engines write and
/// read alike.
/// </summary>
public static class JobStoreJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException($"The stored {typeof(T).Name} is null.");

    /// <summary>A nullable JSON column: null stays null.</summary>
    internal static T? DeserializeOrNull<T>(string? json) where T : class => json is null ? null : Deserialize<T>(json);

    /// <summary>A value for a nullable JSON column: null stays null.</summary>
    internal static string? SerializeOrNull<T>(T? value) where T : class => value is null ? null : Serialize(value);

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            PropertyNameCaseInsensitive = true,
            // A diverged run has NaN losses in its progress and metrics.
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            // Options-level converters take precedence over the [JsonConverter] on the enum types,
            // so this one decides the spelling, as in the checkpoint manifests: "adamw", "onecycle".
            Converters = { new JsonStringEnumConverter(new LowerCaseNamingPolicy(), allowIntegerValues: false) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    private sealed class LowerCaseNamingPolicy : JsonNamingPolicy
    {
        public override string ConvertName(string name) => name.ToLowerInvariant();
    }
}
