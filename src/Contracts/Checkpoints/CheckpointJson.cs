using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrainingService.Contracts.Checkpoints;

/// <summary>The JSON settings for manifests and alias pointers, shared so every file is written and read alike.</summary>
public static class CheckpointJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
            // A diverged run has NaN losses; refusing to serialise them would lose its checkpoints.
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            // A manifest missing a required field or holding null where the type says never is
            // damaged, and should be reported as such rather than loaded half-filled.
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
            // Options-level converters take precedence over the [JsonConverter] on the enum types,
            // so this one decides the spelling: "adamw", "onecycle". Reading is case-insensitive.
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
