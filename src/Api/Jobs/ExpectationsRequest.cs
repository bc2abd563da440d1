using System.Text.Json;
using TrainingService.Api.Infrastructure;
using TrainingService.Contracts;

namespace TrainingService.Api.Jobs;

/// <summary>
/// A submission's <c>expect</c>: <c>{ "testAccuracy": { "min": 0.99 }, "wallSeconds": { "max": 600 } }</c>,
/// read field by field so every problem is named (<c>expect.testAccuracy.min</c>).
/// </summary>
public static class ExpectationsRequest
{
    public const string Field = "expect";
    private const int MaxConditions = 16;

    /// <summary>The conditions, or null for none (absent, null or an empty object).</summary>
    public static IReadOnlyDictionary<string, ExpectationBound>? Read(JsonElement? expect, JobKind? kind, FieldErrors errors)
    {
        if (expect is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            return null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(Field, $"Must be an object of conditions by figure, e.g. {{\"testAccuracy\": {{\"min\": 0.99}}}}; the figures are: {Figures()}.");
            return null;
        }
        var conditions = new Dictionary<string, ExpectationBound>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var field = $"{Field}.{property.Name}";
            if (conditions.ContainsKey(property.Name))
                errors.Add(field, "Given more than once.");
            else if (!JobExpectations.Figures.ContainsKey(property.Name))
                errors.Add(field, $"Not a figure a job reports; the figures are: {Figures()}.");
            else if (kind == JobKind.Eval && property.Name is JobExpectations.BestTestAccuracy or JobExpectations.BestTestLoss)
                errors.Add(field, "An eval job has no best epoch: expect testAccuracy or testLoss.");
            else if (ReadBound(property.Value, field, errors) is { } bound)
                conditions[property.Name] = bound;
        }
        if (conditions.Count > MaxConditions)
            errors.Add(Field, $"At most {MaxConditions} conditions.");
        return conditions.Count == 0 ? null : conditions;
    }

    private static ExpectationBound? ReadBound(JsonElement value, string field, FieldErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(field, "Must be an object with min and/or max, e.g. {\"min\": 0.99}.");
            return null;
        }
        double? min = null, max = null;
        var valid = true;
        foreach (var property in value.EnumerateObject())
        {
            if (property.Name is not ("min" or "max"))
            {
                errors.Add($"{field}.{property.Name}", "Unknown field; a condition has min and/or max.");
                valid = false;
                continue;
            }
            if (property.Value.ValueKind == JsonValueKind.Null)
                continue; // null: no bound on this side, as omitting it
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetDouble(out var number) || !double.IsFinite(number))
            {
                errors.Add($"{field}.{property.Name}", "Must be a finite number.");
                valid = false;
                continue;
            }
            if (property.Name == "min") min = number; else max = number;
        }
        if (!valid)
            return null;
        if (min is null && max is null)
        {
            errors.Add(field, "Give min, max or both.");
            return null;
        }
        if (min > max)
        {
            errors.Add(field, $"min ({min}) is above max ({max}): nothing could pass.");
            return null;
        }
        return new ExpectationBound(min, max);
    }

    private static string Figures() => string.Join(", ", JobExpectations.Figures.Keys);
}
