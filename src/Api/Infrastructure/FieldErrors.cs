namespace TrainingService.Api.Infrastructure;

/// <summary>Everything wrong with a request, by the JSON path of each field, gathered so one answer reports it all.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> byField = new(StringComparer.Ordinal);

    public bool Any => byField.Count > 0;

    public void Add(string field, params IEnumerable<string> messages)
    {
        if (!byField.TryGetValue(field, out var list))
            byField[field] = list = [];
        list.AddRange(messages);
    }

    public Dictionary<string, string[]> ToDictionary() =>
        byField.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}
