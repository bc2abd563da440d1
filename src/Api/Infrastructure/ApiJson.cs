using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrainingService.Api.Infrastructure;

/// <summary>
/// The API's JSON conventions: camelCase names, enums as lowercase strings, times as ISO 8601 in
/// UTC. Responses and request bodies share them; request bodies are read more strictly
/// (<see cref="CreateStrictRequestOptions"/>).
/// </summary>
public static class ApiJson
{
    /// <summary>Applies the conventions to the options the minimal-API results and Swagger use.</summary>
    public static void Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        // The web defaults read numbers from strings; a client sending "epochs": "3" has a bug we
        // should report, not paper over. Named literals stay allowed both ways: a diverged run's
        // NaN loss must serialise rather than fail the response, and a request's "NaN" learning
        // rate must reach validation so the field can be named.
        options.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
        // Options-level converters win over the [JsonConverter] attributes on the contract's
        // enums, so this one decides the wire spelling: "adamw", "onecycle", "cancelling".
        options.Converters.Insert(0, new JsonStringEnumConverter(LowerCaseNamingPolicy.Instance, allowIntegerValues: false));
        options.Converters.Insert(0, new UtcDateTimeOffsetConverter());
    }

    /// <summary>
    /// Options for reading a request body: the response conventions, plus exact (case-sensitive)
    /// property names, no unknown or repeated properties. A client's typo must come back as an
    /// error naming the field, never silently fall back to a default.
    /// </summary>
    public static JsonSerializerOptions CreateStrictRequestOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Configure(options);
        options.PropertyNameCaseInsensitive = false;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.AllowDuplicateProperties = false;
        options.AllowTrailingCommas = false;
        options.ReadCommentHandling = JsonCommentHandling.Disallow;
        options.MaxDepth = 16;
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>"AdamW" → "adamw": the enum names the README and the CLI use.</summary>
    private sealed class LowerCaseNamingPolicy : JsonNamingPolicy
    {
        public static LowerCaseNamingPolicy Instance { get; } = new();

        public override string ConvertName(string name) => name.ToLowerInvariant();
    }

    /// <summary>
    /// Writes every time in UTC with a <c>Z</c> (<c>2025-11-26T15:44:03.1234567Z</c>) whatever
    /// offset the store handed back, so clients never see a server's local offset.
    /// </summary>
    private sealed class UtcDateTimeOffsetConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetDateTimeOffset();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
    }
}
