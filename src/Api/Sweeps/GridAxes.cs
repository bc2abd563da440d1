using System.Text.Json;
using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>A grid sweep's axes: read from the request (problems by field, <c>grid.batchSize</c>) and expanded into points.</summary>
public static class GridAxes
{
    public const int MaxValuesPerAxis = 50;

    /// <summary>The axes <paramref name="grid"/> gives, each checked for its name and values; problems go to <paramref name="error"/>.</summary>
    public static List<SweepAxis> Read(Dictionary<string, JsonElement[]>? grid, Action<string, string> error)
    {
        var axes = new List<SweepAxis>();
        if (grid is null || grid.Count == 0)
        {
            error("grid", "Required for a grid sweep: at least one axis, e.g. { \"seed\": [1, 2, 3] }.");
            return axes;
        }
        if (grid.Count > SweepPlanner.MaxAxes)
        {
            error("grid", $"At most {SweepPlanner.MaxAxes} axes; got {grid.Count}.");
            return axes;
        }
        foreach (var (axis, values) in grid)
        {
            var field = $"grid.{axis}";
            if (SweepPlanner.AxisProblem(axis) is { } problem)
                error(field, problem);
            else if (values is null || values.Length == 0 || values.Length > MaxValuesPerAxis)
                error(field, $"Must be a list of 1 to {MaxValuesPerAxis} values.");
            else if (values.Select(v => v.GetRawText()).Distinct(StringComparer.Ordinal).Count() != values.Length)
                error(field, "A value is given more than once.");
            else
                axes.Add(new SweepAxis(axis, values.Select(v => v.Clone()).ToArray()));
        }
        var points = axes.Aggregate(1L, (n, a) => n * a.Values.Count);
        if (axes.Count == grid.Count && points > SweepPlanner.MaxPoints)
            error("grid", $"At most {SweepPlanner.MaxPoints} points (jobs); these axes make {points}.");
        return axes;
    }

    /// <summary>Each value on its own, to be checked against the base: the field its errors go under, and the value.</summary>
    public static IEnumerable<(string Field, string Axis, JsonElement Value)> ValuesToCheck(IEnumerable<SweepAxis> axes) =>
        axes.SelectMany(axis => axis.Values.Select((value, i) => ($"grid.{axis.Name}[{i}]", axis.Name, value)));

    /// <summary>The grid's points in order, the last axis varying fastest.</summary>
    public static List<IReadOnlyDictionary<string, JsonElement>> Expand(IReadOnlyList<SweepAxis> axes)
    {
        IEnumerable<Dictionary<string, JsonElement>> points = [new Dictionary<string, JsonElement>(StringComparer.Ordinal)];
        foreach (var axis in axes)
        {
            points = points.SelectMany(p => axis.Values.Select(v => new Dictionary<string, JsonElement>(p, StringComparer.Ordinal) { [axis.Name] = v }));
        }
        return [.. points.Select(p => (IReadOnlyDictionary<string, JsonElement>)p)];
    }
}
