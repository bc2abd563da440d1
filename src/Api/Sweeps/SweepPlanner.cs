using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainingService.Api.Datasets;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Jobs;
using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// Turns a <see cref="CreateSweepRequest"/> into the sweep to store — its grid expanded into
/// points — or into everything wrong with it, by field. Every value on every axis is checked by
/// building the job it gives through <see cref="JobSubmission"/>, so a sweep accepts exactly what
/// <c>POST /jobs</c> accepts, and an error names the axis and index (<c>grid.batchSize[1]</c>).
/// </summary>
public static class SweepPlanner
{
    public const int MaxAxes = 8;
    public const int MaxValuesPerAxis = 50;
    public const int MaxPoints = 256;
    public const int DefaultMaxConcurrent = 2;
    public const int MaxConcurrentLimit = 64;
    public const string ArchitectureAxis = "architecture";

    private static readonly JsonSerializerOptions RequestJson = ApiJson.CreateStrictRequestOptions();

    /// <summary>The hyperparameters an axis may name: the JSON names of <see cref="Contracts.Training.Hyperparameters"/>.</summary>
    public static IReadOnlyList<string> HyperparameterAxes { get; } =
        Contracts.Training.HyperparameterOverrides.Names;

    public sealed record Outcome(SweepRecord? Sweep, Dictionary<string, string[]> Errors);

    public static async Task<Outcome> BuildAsync(
        CreateSweepRequest request, IJobStore store, ICheckpointIndex checkpointIndex, DateTimeOffset now, CancellationToken cancellationToken,
        DatasetLookup? datasets = null)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string field, string message)
        {
            if (!errors.TryGetValue(field, out var list))
                errors[field] = list = [];
            list.Add(message);
        }

        if (request.Name is { } name && !JobSubmission.IsValidName(name))
            Add("name", JobSubmission.NameRule);
        var maxConcurrent = request.MaxConcurrent ?? DefaultMaxConcurrent;
        if (maxConcurrent is < 1 or > MaxConcurrentLimit)
            Add("maxConcurrent", $"Must be 1 to {MaxConcurrentLimit}.");

        JsonObject? baseJob = null;
        if (request.Base is null)
            Add("base", "Required: the training job every point starts from (a POST /jobs body).");
        else if (request.Base.Kind is not (null or "train"))
            Add("base.kind", "A sweep runs training jobs: give train, or omit it.");
        else if (request.Base.Callback is not null)
            // The base is stored and shown as given; a secret in it would be shown to every reader of the sweep.
            Add("base.callback", "A sweep's jobs name no callback of their own: give callback on the sweep (for the sweep's end), or register a default subscription (POST /webhooks) for every job's.");
        else
        {
            baseJob = JsonSerializer.SerializeToNode(request.Base, RequestJson)!.AsObject();
            baseJob["kind"] = "train";
            if (request.Base.Tags?.Count >= JobSubmission.MaxTags)
                Add("base.tags", $"At most {JobSubmission.MaxTags - 1} tags: each job of a sweep also gets the tag sweep-<id>.");
            foreach (var (field, messages) in (await JobSubmission.BuildAsync(ToRequest(baseJob), null, store, checkpointIndex, now, cancellationToken, datasets: datasets)).Errors)
                messages.ToList().ForEach(m => Add($"base.{field}", m));
        }

        var axes = new List<SweepAxis>();
        if (request.Grid is null || request.Grid.Count == 0)
            Add("grid", "Required: at least one axis, e.g. { \"seed\": [1, 2, 3] }.");
        else if (request.Grid.Count > MaxAxes)
            Add("grid", $"At most {MaxAxes} axes; got {request.Grid.Count}.");
        else
        {
            foreach (var (axis, values) in request.Grid)
            {
                var field = $"grid.{axis}";
                if (axis != ArchitectureAxis && !HyperparameterAxes.Contains(axis, StringComparer.Ordinal))
                    Add(field, $"Not an axis a sweep can vary: use {ArchitectureAxis} or a hyperparameter ({string.Join(", ", HyperparameterAxes)}).");
                else if (values is null || values.Length == 0 || values.Length > MaxValuesPerAxis)
                    Add(field, $"Must be a list of 1 to {MaxValuesPerAxis} values.");
                else if (values.Select(v => v.GetRawText()).Distinct(StringComparer.Ordinal).Count() != values.Length)
                    Add(field, "A value is given more than once.");
                else
                    axes.Add(new SweepAxis(axis, values.Select(v => v.Clone()).ToArray()));
            }
            var points = axes.Aggregate(1L, (n, a) => n * a.Values.Count);
            if (axes.Count == request.Grid.Count && points > MaxPoints)
                Add("grid", $"At most {MaxPoints} points (jobs); these axes make {points}.");
        }

        // Each value on its own, against the base: its errors name the axis and index.
        if (baseJob is not null && errors.Count == 0)
        {
            foreach (var axis in axes)
            {
                for (var i = 0; i < axis.Values.Count; i++)
                {
                    var single = new Dictionary<string, JsonElement> { [axis.Name] = axis.Values[i] };
                    var outcome = await BuildPointAsync(baseJob, single, store, checkpointIndex, now, cancellationToken, datasets: datasets);
                    foreach (var message in outcome.Errors.SelectMany(e => e.Value))
                        Add($"grid.{axis.Name}[{i}]", message);
                }
            }
        }

        if (errors.Count > 0 || baseJob is null)
            return new Outcome(null, errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));

        return new Outcome(new SweepRecord
        {
            Id = Guid.CreateVersion7(now),
            Name = request.Name,
            BaseJob = JsonSerializer.SerializeToElement(baseJob),
            Grid = axes,
            Points = Expand(axes),
            MaxConcurrent = maxConcurrent,
            CreatedAt = now,
        }, []);
    }

    /// <summary>
    /// The job for one point: the base with the point's values (architecture, or hyperparameters),
    /// named after the sweep and the point, tagged with the sweep, and keyed so that creating it
    /// twice gives one job.
    /// </summary>
    public static async Task<JobSubmission.Outcome> BuildPointJobAsync(
        SweepRecord sweep, int point, IJobStore store, ICheckpointIndex checkpointIndex, DateTimeOffset now, CancellationToken cancellationToken,
        DatasetLookup? datasets = null)
    {
        var baseJob = JsonNode.Parse(sweep.BaseJob.GetRawText())!.AsObject();
        var values = PointValues(sweep, point);
        var prefix = baseJob["name"]?.GetValue<string>() ?? sweep.Name ?? "sweep";
        var label = Label(values);
        var name = $"{prefix} [{label}]";
        baseJob["name"] = name.Length <= JobSubmission.MaxNameLength ? name : name[..JobSubmission.MaxNameLength];
        var tags = baseJob["tags"]?.AsArray() ?? new JsonArray();
        tags.Add(Tag(sweep.Id));
        baseJob["tags"] = JsonNode.Parse(tags.ToJsonString());
        return await BuildPointAsync(baseJob, values, store, checkpointIndex, now, cancellationToken, IdempotencyKey(sweep.Id, point), datasets);
    }

    /// <summary>The tag every job of a sweep carries: <c>GET /jobs?tag=sweep-{id}</c> lists them.</summary>
    public static string Tag(Guid sweepId) => $"sweep-{sweepId:D}";

    /// <summary>
    /// A point's values in grid order (a stored point is a JSON object, whose key order PostgreSQL
    /// does not keep).
    /// </summary>
    public static IReadOnlyDictionary<string, JsonElement> PointValues(SweepRecord sweep, int point) =>
        sweep.Grid.ToDictionary(a => a.Name, a => sweep.Points[point][a.Name], StringComparer.Ordinal);

    /// <summary><c>batchSize=32 seed=1</c></summary>
    public static string Label(IReadOnlyDictionary<string, JsonElement> values) =>
        string.Join(" ", values.Select(v => $"{v.Key}={(v.Value.ValueKind == JsonValueKind.String ? v.Value.GetString() : v.Value.GetRawText())}"));

    private static string IdempotencyKey(Guid sweepId, int point) =>
        $"sweep-{sweepId:N}-{point.ToString(CultureInfo.InvariantCulture)}";

    private static Task<JobSubmission.Outcome> BuildPointAsync(
        JsonObject baseJob, IReadOnlyDictionary<string, JsonElement> values, IJobStore store, ICheckpointIndex checkpointIndex, DateTimeOffset now,
        CancellationToken cancellationToken, string? idempotencyKey = null, DatasetLookup? datasets = null)
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
        return JobSubmission.BuildAsync(request, idempotencyKey, store, checkpointIndex, now, cancellationToken, datasets: datasets);
    }

    private static CreateJobRequest ToRequest(JsonObject job) =>
        job.Deserialize<CreateJobRequest>(RequestJson) ?? throw new JsonException("A job is required.");

    /// <summary>The grid's points in order, the last axis varying fastest.</summary>
    private static List<IReadOnlyDictionary<string, JsonElement>> Expand(IReadOnlyList<SweepAxis> axes)
    {
        IEnumerable<Dictionary<string, JsonElement>> points = [new Dictionary<string, JsonElement>(StringComparer.Ordinal)];
        foreach (var axis in axes)
        {
            points = points.SelectMany(p => axis.Values.Select(v => new Dictionary<string, JsonElement>(p, StringComparer.Ordinal) { [axis.Name] = v }));
        }
        return points.Select(p => (IReadOnlyDictionary<string, JsonElement>)p).ToList();
    }
}
