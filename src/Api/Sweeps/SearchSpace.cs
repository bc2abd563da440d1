using System.Globalization;
using System.Text.Json;
using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// A random sweep's space: read from the request (problems by field, <c>space.learningRate.logUniform[0]</c>)
/// and drawn from, reproducibly, with the sweep's seed.
/// </summary>
/// <remarks>
/// The draws use <see cref="Random(int)"/>: with a seed it is .NET's original subtractive generator,
/// kept unchanged across versions for exactly this (a seeded sequence must stay the same). Trials are
/// drawn in order and, within a trial, dimensions in the order the request gave them. Real values are
/// rounded to <see cref="SignificantDigits"/> significant digits (readable job names; far finer than any
/// difference training could show) and kept within [low, high].
/// </remarks>
public static class SearchSpace
{
    public const int MaxChoices = 50;
    public const int SignificantDigits = 4;

    private static readonly Dictionary<string, DistributionKind> Kinds = new(StringComparer.Ordinal)
    {
        ["choice"] = DistributionKind.Choice,
        ["uniform"] = DistributionKind.Uniform,
        ["logUniform"] = DistributionKind.LogUniform,
        ["intRange"] = DistributionKind.IntRange,
    };

    /// <summary>The request's name for a distribution: <c>logUniform</c>.</summary>
    public static string NameOf(DistributionKind kind) => Kinds.Single(k => k.Value == kind).Key;

    /// <summary>The dimensions <paramref name="space"/> gives, in its order; problems go to <paramref name="error"/>.</summary>
    public static List<SearchDimension> Read(Dictionary<string, JsonElement>? space, Action<string, string> error)
    {
        var dimensions = new List<SearchDimension>();
        if (space is null || space.Count == 0)
        {
            error("space", "Required for a random sweep: at least one axis, e.g. { \"learningRate\": { \"logUniform\": [0.0001, 0.01] } }.");
            return dimensions;
        }
        if (space.Count > SweepPlanner.MaxAxes)
        {
            error("space", $"At most {SweepPlanner.MaxAxes} axes; got {space.Count}.");
            return dimensions;
        }
        foreach (var (axis, distribution) in space)
        {
            if (SweepPlanner.AxisProblem(axis) is { } problem)
                error($"space.{axis}", problem);
            else if (ReadDimension(axis, distribution, error) is { } dimension)
                dimensions.Add(dimension);
        }
        return dimensions;
    }

    private static SearchDimension? ReadDimension(string axis, JsonElement distribution, Action<string, string> error)
    {
        var field = $"space.{axis}";
        var names = string.Join(", ", Kinds.Keys);
        if (distribution.ValueKind != JsonValueKind.Object || distribution.EnumerateObject().Count() != 1)
        {
            error(field, $"Must be an object with one distribution: {names}; e.g. {{ \"choice\": [32, 64] }}.");
            return null;
        }
        var property = distribution.EnumerateObject().Single();
        if (!Kinds.TryGetValue(property.Name, out var kind))
        {
            error($"{field}.{property.Name}", $"Not a distribution: use one of {names}.");
            return null;
        }
        field = $"{field}.{property.Name}";
        var values = property.Value.ValueKind == JsonValueKind.Array ? property.Value.EnumerateArray().Select(v => v.Clone()).ToArray() : null;
        var type = axis == TrialJobs.ArchitectureAxis ? typeof(string) : HyperparameterOverrides.TypeOf(axis)!;
        type = Nullable.GetUnderlyingType(type) ?? type;
        var real = type == typeof(double);
        var whole = type == typeof(int) || type == typeof(long);
        switch (kind)
        {
            case DistributionKind.Choice when values is null || values.Length is 0 or > MaxChoices:
                error(field, $"Must be a list of 1 to {MaxChoices} values.");
                return null;
            case DistributionKind.Choice when values.Select(v => v.GetRawText()).Distinct(StringComparer.Ordinal).Count() != values.Length:
                error(field, "A value is given more than once.");
                return null;
            case DistributionKind.Choice:
                return new SearchDimension(axis, kind, values);
            case DistributionKind.Uniform or DistributionKind.LogUniform when !real:
                error(field, $"{axis} is not a real number: use intRange or choice for it.");
                return null;
            case DistributionKind.IntRange when !whole:
                error(field, $"{axis} is not a whole number: use {(real ? "uniform, logUniform" : "choice")} for it.");
                return null;
        }
        if (values is not { Length: 2 })
        {
            error(field, "Must be [low, high].");
            return null;
        }
        var ok = true;
        for (var i = 0; i < 2; i++)
        {
            var isNumber = values[i].ValueKind == JsonValueKind.Number;
            if (kind == DistributionKind.IntRange ? !isNumber || !values[i].TryGetInt64(out _) : !isNumber || !double.IsFinite(values[i].GetDouble()))
            {
                error($"{field}[{i}]", kind == DistributionKind.IntRange ? "Must be a whole number." : "Must be a finite number.");
                ok = false;
            }
        }
        if (!ok)
            return null;
        if (values[0].GetDouble() >= values[1].GetDouble())
        {
            error(field, "low (the first value) must be below high (the second).");
            return null;
        }
        if (kind == DistributionKind.LogUniform && values[0].GetDouble() <= 0)
        {
            error($"{field}[0]", "Must be above 0: a log-uniform range takes logarithms.");
            return null;
        }
        return new SearchDimension(axis, kind, values);
    }

    /// <summary>
    /// The values to check against the base on their own, with the field their errors go under: every
    /// choice, and both ends of a range (the validator's rules are ranges, so the values between pass too).
    /// </summary>
    public static IEnumerable<(string Field, string Axis, JsonElement Value)> ValuesToCheck(IEnumerable<SearchDimension> dimensions) =>
        dimensions.SelectMany(d => d.Values.Select((value, i) => ($"space.{d.Name}.{NameOf(d.Distribution)}[{i}]", d.Name, value)));

    /// <summary><paramref name="trials"/> points drawn with <paramref name="seed"/>: the same arguments, the same points.</summary>
    public static List<IReadOnlyDictionary<string, JsonElement>> Draw(IReadOnlyList<SearchDimension> dimensions, int trials, int seed)
    {
        var random = new Random(seed);
        var points = new List<IReadOnlyDictionary<string, JsonElement>>(trials);
        for (var trial = 0; trial < trials; trial++)
        {
            var point = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var dimension in dimensions)
                point[dimension.Name] = Draw(dimension, random);
            points.Add(point);
        }
        return points;
    }

    private static JsonElement Draw(SearchDimension dimension, Random random)
    {
        var values = dimension.Values;
        switch (dimension.Distribution)
        {
            case DistributionKind.Choice:
                return values[random.Next(values.Count)];
            case DistributionKind.IntRange:
                return JsonSerializer.SerializeToElement(random.NextInt64(values[0].GetInt64(), values[1].GetInt64() + 1));
            default:
                var (low, high) = (values[0].GetDouble(), values[1].GetDouble());
                var value = dimension.Distribution == DistributionKind.Uniform
                    ? low + random.NextDouble() * (high - low)
                    : Math.Exp(Math.Log(low) + random.NextDouble() * (Math.Log(high) - Math.Log(low)));
                return JsonSerializer.SerializeToElement(Math.Clamp(Round(value), low, high));
        }
    }

    /// <summary><paramref name="value"/> to <see cref="SignificantDigits"/> significant digits.</summary>
    private static double Round(double value) =>
        double.Parse(value.ToString($"G{SignificantDigits}", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
