using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainingService.Contracts.Training;

namespace TrainingService.Cli;

/// <summary>
/// One option per hyperparameter, made from the contract's list of fields (<c>--batch-size</c> for
/// <c>batchSize</c>), so the CLI never re-lists them; the values are laid over defaults by the same
/// rules as a submission's (<see cref="HyperparameterOverrides"/>), and a problem names the option.
/// </summary>
internal sealed class HyperparameterOptions
{
    private readonly Dictionary<string, Option<string>> byField = HyperparameterOverrides.Names.ToDictionary(
        name => name,
        name => new Option<string>("--" + Kebab(name)) { Description = $"hyperparameter {name} (default: the architecture's)", HelpName = "value" });

    public IEnumerable<Option> All => byField.Values;

    /// <summary>The options given, as the JSON object a submission's <c>hyperparameters</c> is.</summary>
    public JsonObject Given(ParseResult parse)
    {
        var given = new JsonObject();
        foreach (var (field, option) in byField)
        {
            if (parse.GetValue(option) is not { } text)
                continue;
            var type = Nullable.GetUnderlyingType(HyperparameterOverrides.TypeOf(field)!) ?? HyperparameterOverrides.TypeOf(field)!;
            // Numbers go as numbers (so "2.5" for an integer is refused as the server would), names as strings.
            given[field] = type != typeof(string) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
                ? JsonValue.Create(number)
                : JsonValue.Create(text);
        }
        return given;
    }

    /// <summary><paramref name="defaults"/> with the options given; throws <see cref="UsageException"/> naming every bad option.</summary>
    public Hyperparameters Apply(Hyperparameters defaults, ParseResult parse)
    {
        var problems = new List<string>();
        var json = JsonSerializer.SerializeToElement(Given(parse));
        var result = HyperparameterOverrides.Apply(defaults, json, (field, message) => problems.Add($"--{Kebab(field)}: {message}"));
        return problems.Count == 0 ? result : throw new UsageException(string.Join(Environment.NewLine, problems));
    }

    /// <summary><c>batchSize</c> → <c>batch-size</c>.</summary>
    public static string Kebab(string camel) =>
        string.Concat(camel.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
