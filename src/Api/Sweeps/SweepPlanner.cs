using System.Text.Json;
using System.Text.Json.Nodes;
using TrainingService.Api.Datasets;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Jobs;
using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// Turns a <see cref="CreateSweepRequest"/> into the sweep to store — its points (trials): a grid
/// expanded (<see cref="GridAxes"/>) or a space drawn from (<see cref="SearchSpace"/>) — or into
/// everything wrong with it, by field. Every value is checked by building the job it gives through
/// <see cref="JobSubmission"/>, so a sweep accepts exactly what <c>POST /jobs</c> accepts, and an error
/// names the axis and index (<c>grid.batchSize[1]</c>, <c>space.learningRate.logUniform[0]</c>).
/// </summary>
public static class SweepPlanner
{
    public const int MaxAxes = 8;
    public const int MaxPoints = 256;
    public const int DefaultMaxConcurrent = 2;
    public const int MaxConcurrentLimit = 64;

    private static readonly JsonSerializerOptions RequestJson = ApiJson.CreateStrictRequestOptions();

    /// <summary>The hyperparameters an axis may name: the JSON names of <see cref="Contracts.Training.Hyperparameters"/>.</summary>
    public static IReadOnlyList<string> HyperparameterAxes { get; } =
        Contracts.Training.HyperparameterOverrides.Names;

    public sealed record Outcome(SweepRecord? Sweep, Dictionary<string, string[]> Errors);

    /// <summary>Why <paramref name="axis"/> cannot be varied, or null when it can.</summary>
    public static string? AxisProblem(string axis) =>
        axis == TrialJobs.ArchitectureAxis || HyperparameterAxes.Contains(axis, StringComparer.Ordinal)
            ? null
            : $"Not an axis a sweep can vary: use {TrialJobs.ArchitectureAxis} or a hyperparameter ({string.Join(", ", HyperparameterAxes)}).";

    public static async Task<Outcome> BuildAsync(
        CreateSweepRequest request, IJobStore store, ICheckpointIndex checkpointIndex, DateTimeOffset now, CancellationToken cancellationToken,
        DatasetLookup? datasets = null)
    {
        var errors = new FieldErrors();
        void Report(string field, string message) => errors.Add(field, message);

        if (request.Name is { } name && !JobSubmission.IsValidName(name))
            errors.Add("name", JobSubmission.NameRule);
        var maxConcurrent = request.MaxConcurrent ?? DefaultMaxConcurrent;
        if (maxConcurrent is < 1 or > MaxConcurrentLimit)
            errors.Add("maxConcurrent", $"Must be 1 to {MaxConcurrentLimit}.");

        var baseJob = await ReadBaseAsync(request, errors, store, checkpointIndex, now, cancellationToken, datasets);
        var method = ReadMethod(request, errors);
        var axes = method == SweepMethod.Grid ? GridAxes.Read(request.Grid, Report) : [];
        var space = method == SweepMethod.Random ? SearchSpace.Read(request.Space, Report) : [];
        var earlyStopping = EarlyStoppingReader.Read(request.EarlyStopping, Report);

        // Each value on its own, against the base: its errors name the axis and index.
        if (baseJob is not null && !errors.Any)
        {
            foreach (var (field, axis, value) in GridAxes.ValuesToCheck(axes).Concat(SearchSpace.ValuesToCheck(space)))
            {
                var outcome = await TrialJobs.BuildWithValuesAsync(baseJob, new Dictionary<string, JsonElement> { [axis] = value }, store, checkpointIndex, now, cancellationToken, datasets);
                foreach (var message in outcome.Errors.SelectMany(e => e.Value))
                    errors.Add(field, message);
            }
        }
        if (errors.Any || baseJob is null)
            return new Outcome(null, errors.ToDictionary());

        var seed = method == SweepMethod.Random ? request.Seed ?? Random.Shared.Next() : (int?)null;
        var points = method == SweepMethod.Grid ? GridAxes.Expand(axes) : SearchSpace.Draw(space, request.Trials!.Value, seed!.Value);
        // Every point as a whole, for the limits that tie fields together; and the trials' epochs, for the rule.
        var epochs = new List<int>();
        for (var point = 0; point < points.Count; point++)
        {
            var outcome = await TrialJobs.BuildWithValuesAsync(baseJob, points[point], store, checkpointIndex, now, cancellationToken, datasets);
            if (outcome.Job is null)
                errors.Add(method == SweepMethod.Grid ? "grid" : "space",
                    $"Point {point} ({TrialJobs.Label(points[point])}) is not a valid job: {string.Join(" ", outcome.Errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))}");
            else
                epochs.Add(outcome.Job.Hyperparameters.Epochs);
        }
        if (earlyStopping is not null && epochs.Count > 0 && earlyStopping.GracePeriod >= epochs.Max())
            errors.Add("earlyStopping.gracePeriod",
                $"Must be below the trials' epochs ({epochs.Max()}): a rule judges a trial only at an epoch before its last.");
        if (errors.Any)
            return new Outcome(null, errors.ToDictionary());

        return new Outcome(new SweepRecord
        {
            Id = Guid.CreateVersion7(now),
            Name = request.Name,
            BaseJob = JsonSerializer.SerializeToElement(baseJob),
            Grid = axes,
            Points = points,
            MaxConcurrent = maxConcurrent,
            CreatedAt = now,
            Search = new SweepSearch { Method = method, Space = space, Seed = seed, EarlyStopping = earlyStopping },
        }, []);
    }

    /// <summary>The base job as JSON with kind train, or null with its problems reported (under <c>base.…</c>).</summary>
    private static async Task<JsonObject?> ReadBaseAsync(
        CreateSweepRequest request, FieldErrors errors, IJobStore store, ICheckpointIndex checkpointIndex, DateTimeOffset now, CancellationToken cancellationToken,
        DatasetLookup? datasets)
    {
        if (request.Base is null)
        {
            errors.Add("base", "Required: the training job every point starts from (a POST /jobs body).");
            return null;
        }
        if (request.Base.Kind is not (null or "train"))
        {
            errors.Add("base.kind", "A sweep runs training jobs: give train, or omit it.");
            return null;
        }
        if (request.Base.Callback is not null)
        {
            // The base is stored and shown as given; a secret in it would be shown to every reader of the sweep.
            errors.Add("base.callback", "A sweep's jobs name no callback of their own: give callback on the sweep (for the sweep's end), or register a default subscription (POST /webhooks) for every job's.");
            return null;
        }
        var baseJob = JsonSerializer.SerializeToNode(request.Base, RequestJson)!.AsObject();
        baseJob["kind"] = "train";
        if (request.Base.Tags?.Count >= JobSubmission.MaxTags)
            errors.Add("base.tags", $"At most {JobSubmission.MaxTags - 1} tags: each job of a sweep also gets the tag sweep-<id>.");
        foreach (var (field, messages) in (await JobSubmission.BuildAsync(TrialJobs.ToRequest(baseJob), null, store, checkpointIndex, now, cancellationToken, datasets: datasets)).Errors)
            foreach (var message in messages)
                errors.Add($"base.{field}", message);
        return baseJob;
    }

    /// <summary>The method, and the fields that belong to the other method refused.</summary>
    private static SweepMethod ReadMethod(CreateSweepRequest request, FieldErrors errors)
    {
        var method = request.Method switch
        {
            null or "grid" => SweepMethod.Grid,
            "random" => SweepMethod.Random,
            _ => (SweepMethod?)null,
        };
        if (method is null)
        {
            errors.Add("method", "Must be grid (every combination of grid's values) or random (trials drawn from space).");
            return SweepMethod.Grid;
        }
        if (method == SweepMethod.Grid)
        {
            foreach (var (field, given) in new[] { ("space", request.Space is not null), ("trials", request.Trials is not null), ("seed", request.Seed is not null) })
                if (given)
                    errors.Add(field, $"Only a random sweep (method: random) has {field}; a grid sweep runs every point of grid.");
        }
        else
        {
            if (request.Grid is not null)
                errors.Add("grid", "A random sweep draws its trials from space; give grid with method grid (the default).");
            if (request.Trials is null)
                errors.Add("trials", $"Required for a random sweep: how many trials to draw, 1 to {MaxPoints}.");
            else if (request.Trials is < 1 or > MaxPoints)
                errors.Add("trials", $"Must be 1 to {MaxPoints}.");
            if (request.Seed is < 0)
                errors.Add("seed", "Must be 0 or more; omit it for one the service picks (and shows).");
        }
        return method.Value;
    }
}
