using System.Text.Json;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Contracts;

namespace TrainingService.Api.Logs;

/// <summary>A page of a job's log events, in order.</summary>
public sealed record LogPageResponse : IOpenApiExample<LogPageResponse>
{
    /// <summary>The events.</summary>
    public required IReadOnlyList<LogRecordResponse> Items { get; init; }

    /// <summary>Pass as <c>after</c> to read on from here (the last event's sequence, or the <c>after</c> given when there were none).</summary>
    public required long NextAfter { get; init; }

    public static LogPageResponse Example { get; } = new() { Items = [LogRecordResponse.Example], NextAfter = 42 };
}

/// <summary>One structured log event of a job.</summary>
public sealed record LogRecordResponse : IOpenApiExample<LogRecordResponse>
{
    /// <summary>Its position in the job's log; increases.</summary>
    public required long Sequence { get; init; }

    /// <summary>When it was logged.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>Verbose, Debug, Information, Warning, Error or Fatal.</summary>
    public required string Level { get; init; }

    /// <summary>The rendered message.</summary>
    public required string Message { get; init; }

    /// <summary>The event's structured properties, if any.</summary>
    public required JsonElement? Properties { get; init; }

    public static LogRecordResponse Example { get; } = new()
    {
        Sequence = 42,
        Timestamp = new DateTimeOffset(2025, 11, 26, 15, 40, 32, TimeSpan.Zero),
        Level = "Information",
        Message = "Epoch 1/3: test accuracy 0.9847",
        Properties = JsonDocument.Parse("""{"epoch":1,"testAccuracy":0.9847}""").RootElement,
    };

    public static LogRecordResponse From(JobLogRecord record) => new()
    {
        Sequence = record.Sequence,
        Timestamp = record.Timestamp,
        Level = record.Level,
        Message = record.Message,
        Properties = ParseProperties(record.PropertiesJson),
    };

    /// <summary>The stored properties as JSON; a value that does not parse is dropped rather than failing the whole page.</summary>
    private static JsonElement? ParseProperties(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
            return null;
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
