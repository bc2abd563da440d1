using System.Globalization;
using TrainingService.Contracts;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Jobs;

/// <summary>
/// Query-string parsing that reports a bad value under the parameter's name instead of failing
/// the binding with an anonymous 400. An empty value (<c>?status=</c>) counts as omitted.
/// </summary>
public static class Query
{
    public static TEnum? ParseEnum<TEnum>(string name, string? value, Dictionary<string, string[]> errors) where TEnum : struct, Enum
    {
        if (string.IsNullOrEmpty(value))
            return null;
        foreach (var candidate in Enum.GetValues<TEnum>())
        {
            if (string.Equals(candidate.ToString(), value, StringComparison.OrdinalIgnoreCase))
                return candidate;
        }
        errors[name] = [$"Must be one of: {string.Join(", ", Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}; got '{Infrastructure.Problems.Shorten(value)}'."];
        return null;
    }

    public static string? ParseArchitecture(string name, string? value, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (ArchitectureCatalog.Find(value) is { } architecture)
            return architecture.Name;
        errors[name] = [$"Must be one of: {string.Join(", ", ArchitectureCatalog.All.Select(a => a.Name))}; got '{Infrastructure.Problems.Shorten(value)}'."];
        return null;
    }

    public static string? ParseTag(string name, string? value, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (value.Length > JobSubmission.MaxTagLength)
            errors[name] = [$"Tags are at most {JobSubmission.MaxTagLength} characters."];
        return value;
    }

    public static int ParseInt(string name, string? value, int min, int max, int fallback, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(value))
            return fallback;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max)
            return number;
        errors[name] = [$"Must be a whole number from {min} to {max}; got '{Infrastructure.Problems.Shorten(value)}'."];
        return fallback;
    }

    public static long ParseLong(string name, string? value, long min, long fallback, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(value))
            return fallback;
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min)
            return number;
        errors[name] = [$"Must be a whole number, {min} or more; got '{Infrastructure.Problems.Shorten(value)}'."];
        return fallback;
    }

    public static bool ParseBool(string name, string? value, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(value))
            return false;
        if (bool.TryParse(value, out var flag))
            return flag;
        errors[name] = [$"Must be true or false; got '{Infrastructure.Problems.Shorten(value)}'."];
        return false;
    }

    public static JobCursor? ParseCursor(string name, string? value, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (JobCursorCodec.TryDecode(value, out var cursor))
            return cursor;
        errors[name] = ["Not a cursor this API issued; pass a nextCursor from a previous page unchanged."];
        return null;
    }
}
