using System.Reflection;
using System.Text.RegularExpressions;

namespace TrainingService.Storage.Migrations;

/// <summary>
/// The schema's migration scripts: the SQL files of this folder, embedded in the assembly, in one
/// ordered list for both engines. <c>NNNN-what-it-does.sql</c> runs on both;
/// <c>NNNN-what-it-does.postgresql.sql</c> and <c>NNNN-what-it-does.sqlite.sql</c> are one migration
/// written once per engine, only where their SQL differs (column types, JSON functions). NNNN is the
/// version, in order of application (1 to 6 are the versions the releases before DbUp recorded in
/// <c>schema_version</c>; there was never a 4). The journal records a migration by its name without
/// the engine, <c>NNNN-what-it-does.sql</c>, the same on both engines.
/// </summary>
internal static partial class MigrationScripts
{
    /// <summary>The engines' suffixes, as in <c>0001-jobs-epochs-checkpoints-logs-workers.sqlite.sql</c>.</summary>
    public static readonly IReadOnlyList<string> Dialects = ["postgresql", "sqlite"];

    private const string ResourcePrefix = "Migrations/";

    private static readonly Lazy<IReadOnlyList<File>> Files = new(Load);

    /// <summary>One migration as an engine runs it.</summary>
    public sealed record Script(int Version, string Name, string Sql);

    private sealed record File(int Version, string Name, string? Dialect, string Sql);

    /// <summary>The migrations for <paramref name="dialect"/>, by version.</summary>
    public static IReadOnlyList<Script> For(string dialect)
    {
        if (!Dialects.Contains(dialect))
            throw new ArgumentOutOfRangeException(nameof(dialect), dialect, $"Not one of {string.Join(", ", Dialects)}.");
        return [.. Files.Value.Where(f => f.Dialect is null || f.Dialect == dialect)
            .OrderBy(f => f.Version)
            .Select(f => new Script(f.Version, f.Name, f.Sql))];
    }

    [GeneratedRegex(@"^(?<version>\d{4})-(?<what>[a-z0-9]+(-[a-z0-9]+)*)(\.(?<dialect>[a-z]+))?\.sql$")]
    private static partial Regex FileName();

    private static IReadOnlyList<File> Load()
    {
        var assembly = typeof(MigrationScripts).Assembly;
        var files = assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(name => Parse(assembly, name))
            .ToList();
        // Every version must run on both engines: one shared script, or one for each engine.
        foreach (var version in files.GroupBy(f => f.Version))
        {
            var dialects = version.Select(f => f.Dialect).ToList();
            var complete = dialects is [null] || (dialects.All(d => d is not null) && dialects.Order().SequenceEqual(Dialects.Order()));
            if (!complete || version.Select(f => f.Name).Distinct().Count() != 1)
                throw new InvalidOperationException(
                    $"Migration {version.Key} must be one NNNN-name.sql or one NNNN-name.<engine>.sql for each of {string.Join(", ", Dialects)}; found {string.Join(", ", version.Select(f => f.Name + "/" + (f.Dialect ?? "both")))}.");
        }
        return files;
    }

    private static File Parse(Assembly assembly, string resource)
    {
        var fileName = resource[ResourcePrefix.Length..];
        var match = FileName().Match(fileName);
        if (!match.Success || match.Groups["dialect"] is { Success: true, Value: var d } && !Dialects.Contains(d))
            throw new InvalidOperationException($"Migration file {fileName} is not named NNNN-what-it-does[.{string.Join("|", Dialects)}].sql.");
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return new File(
            int.Parse(match.Groups["version"].Value, System.Globalization.CultureInfo.InvariantCulture),
            $"{match.Groups["version"].Value}-{match.Groups["what"].Value}.sql",
            match.Groups["dialect"].Success ? match.Groups["dialect"].Value : null,
            reader.ReadToEnd());
    }
}
