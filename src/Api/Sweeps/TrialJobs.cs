using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainingService.Api.Datasets;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Jobs;
using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// A sweep's points (trials) as jobs: the base job with the point's values laid over it, validated
/// by <see cref="JobSubmission"/> exactly as <c>POST /jobs</c> validates a body, named after the sweep
/// and the point, tagged with the sweep, and keyed per trial.
/// </summary>
public static class TrialJobs
{
    public const string ArchitectureAxis = "architecture";

    private static readonly JsonSerializerOptions RequestJson = ApiJson.CreateStrictRequestOptions();

    /// <summary>The tag every job of a sweep carries: <c>GET /jobs?tag=sweep-{id}</c> lists them.</summary>
    public static string Tag(Guid sweepId) => $"sweep-{sweepId:D}";

    /// <summary>
    /// The trial's idempotency key: one per (sweep, point), so the jobs table's unique key holds a
    /// trial to one job too. It starts with a control character, which no client's key may contain
    /// (<c>Idempotency-Key</c> is visible ASCII, and with authentication on is prefixed with its
    /// owner), so no submission can take a trial's key, and with it the trial, first.
    /// </summary>
    public static string TrialKey(Guid sweepId, int point) =>
        $"\u001etrial\u001e{sweepId:N}\u001e{point.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>A point's values in the sweep's axis order (a stored point is a JSON object, whose key order PostgreSQL does not keep).</summary>
    public static IReadOnlyDictionary<string, JsonElement> PointValues(SweepRecord sweep, int point) =>
        sweep.Axes.ToDictionary(a => a, a => sweep.Points[point][a], StringComparer.Ordinal);

    /// <summary><c>batchSize=32 seed=1</c></summary>
    public static string Label(IReadOnlyDictionary<string, JsonElement> values) =>
        string.Join(" ", values.Select(v => $"{v.Key}={(v.Value.ValueKind == JsonValueKind.String ? v.Value.GetString() : v.Value.GetRawText())}"));

    /// <summary>The job for one point, with its owner and its trial key; or the point's errors (a change of rules since the sweep was made).</summary>
    public static async Task<JobSubmission.Outcome> BuildAsync(
        SweepRecord sweep, int point, IJobStore store, ICheckpointIndex checkpointIndex, DateTimeOffset now, CancellationToken cancellationToken,
        DatasetLookup? datasets = null)
    {
        var baseJob = JsonNode.Parse(sweep.BaseJob.GetRawText())!.AsObject();
        var values = PointValues(sweep, point);
        var prefix = baseJob["name"]?.GetValue<string>() ?? sweep.Name ?? "sweep";
        var name = $"{prefix} [{Label(values)}]";
        baseJob["name"] = name.Length <= JobSubmission.MaxNameLength ? name : name[..JobSubmission.MaxNameLength];
        var tags = baseJob["tags"]?.AsArray() ?? new JsonArray();
        tags.Add(Tag(sweep.Id));
        baseJob["tags"] = JsonNode.Parse(tags.ToJsonString());
        var outcome = await BuildWithValuesAsync(baseJob, values, store, checkpointIndex, now, cancellationToken, datasets);
        // The key is set after validation: it is the service's, not one a client could have sent.
        return outcome.Job is null ? outcome : outcome with { Job = outcome.Job with { Owner = sweep.Owner, IdempotencyKey = TrialKey(sweep.Id, point) } };
    }

    /// <summary>The job <paramref name="baseJob"/> gives with <paramref name="values"/> over it (architecture, or hyperparameters), validated.</summary>
    public static Task<JobSubmission.Outcome> BuildWithValuesAsync(
        JsonObject baseJob, IReadOnlyDictionary<string, JsonElement> values, IJobStore store, ICheckpointIndex checkpointIndex, DateTimeOffset now,
        CancellationToken cancellationToken, DatasetLookup? datasets = null)
    {
        var job = JsonNode.Parse(baseJob.ToJsonString())!.AsObject();
        foreach (var (axis, value) in values)
        {
            if (axis == ArchitectureAxis)
                job[ArchitectureAxis] = JsonNode.Parse(value.GetRawText());
            else
            {
                var hyperparameters = job["hyperparameters"] as JsonObject ?? new JsonObject();
                hyperparameters[axis] = JsonNode.Parse(value.GetRawText());
                job["hyperparameters"] = hyperparameters;
            }
        }
        CreateJobRequest request;
        try
        {
            request = ToRequest(job);
        }
        catch (JsonException e)
        {
            // A value of the wrong type for its hyperparameter ("batchSize": "big").
            return Task.FromResult(new JobSubmission.Outcome(null, new() { [JsonRequestBody.FieldFromJsonPath(e.Path)] = ["Invalid value: wrong type."] }));
        }
        catch (InvalidOperationException)
        {
            // A string with half of a UTF-16 surrogate pair ("\ud800"): the request's reader keeps
            // the escape as it came, but it is no text, and writing the point's job out throws (a
            // 500 until the bad-input sweep sent it with a valid base).
            return Task.FromResult(new JobSubmission.Outcome(null, new() { ["body"] = ["Invalid value: a string that is not valid Unicode text."] }));
        }
        return JobSubmission.BuildAsync(request, null, store, checkpointIndex, now, cancellationToken, datasets: datasets);
    }

    /// <summary>A job body (JSON) as the request type, read as strictly as <c>POST /jobs</c> reads it.</summary>
    public static CreateJobRequest ToRequest(JsonObject job) =>
        job.Deserialize<CreateJobRequest>(RequestJson) ?? throw new JsonException("A job is required.");
}
