namespace TrainingService.Api.Jobs;

/// <summary>
/// Job ids in URLs. A malformed id is answered like an unknown one, 404: from the client's side
/// both are "no job at this URL", and the API never has to explain its id format in an error.
/// </summary>
public static class JobIds
{
    /// <summary>The canonical form (<c>0197a1f2-6c3e-…</c>) or the 32-digit form without hyphens; nothing looser.</summary>
    public static bool TryParse(string? value, out Guid id)
    {
        // Guid's exact formats still forgive surrounding white space (" <id>", "<id>%20"); an id does not.
        if (value is not { Length: 36 or 32 } || char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]))
        {
            id = Guid.Empty;
            return false;
        }
        return Guid.TryParseExact(value, "D", out id) || Guid.TryParseExact(value, "N", out id);
    }

    public static string Location(Guid id) => $"/jobs/{id:D}";
}
