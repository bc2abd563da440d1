using System.Text.Json;
using System.Text.Json.Serialization;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Sweeps;
using TrainingService.Contracts;
using TrainingService.Contracts.Webhooks;

namespace TrainingService.Api.Webhooks;

/// <summary>
/// The events (docs/webhooks.md shows one of each): a JSON object with the delivery's id (the same on
/// every retry: receivers drop repeats by it), the event type, when it was made, the job or the sweep
/// as it ended with a summary of its result, and links to read more. Written once per delivery, when
/// the end is announced; every attempt sends these bytes.
/// </summary>
public static class WebhookEvents
{
    public const string JobSucceeded = "job.succeeded";
    public const string JobFailed = "job.failed";
    public const string JobCancelled = "job.cancelled";
    public const string SweepSucceeded = "sweep.succeeded";
    public const string SweepFailed = "sweep.failed";
    public const string SweepCancelled = "sweep.cancelled";

    public static IReadOnlyList<string> All { get; } = [JobSucceeded, JobFailed, JobCancelled, SweepSucceeded, SweepFailed, SweepCancelled];

    private static readonly JsonSerializerOptions Json = CreateJson();

    /// <summary><c>job.succeeded</c>, <c>job.failed</c> or <c>job.cancelled</c>.</summary>
    public static string TypeOf(JobRecord job) => "job." + job.Status.ToString().ToLowerInvariant();

    /// <summary>The body for a job that ended: <paramref name="epochs"/> is how many epochs it recorded.</summary>
    public static string ForJob(Guid deliveryId, JobRecord job, int? epochs, string? baseUrl, DateTimeOffset now)
    {
        var path = $"/jobs/{job.Id:D}";
        return JsonSerializer.Serialize(new WebhookEvent
        {
            Id = deliveryId,
            Type = TypeOf(job),
            CreatedAt = now,
            Job = new WebhookJob
            {
                Id = job.Id,
                Kind = job.Kind,
                Architecture = job.Architecture,
                Name = job.Name,
                Tags = job.Tags,
                Status = job.Status,
                TerminationReason = job.TerminationReason,
                Attempt = job.Attempt,
                CreatedAt = job.CreatedAt,
                StartedAt = job.StartedAt,
                FinishedAt = job.FinishedAt,
                WallSeconds = job is { StartedAt: { } started, FinishedAt: { } finished } ? (finished - started).TotalSeconds : null,
                Epochs = epochs,
                Result = job.Result is { } r
                    ? new WebhookJobResult(r.FinalTestAccuracy, r.FinalTestLoss, r.BestTestAccuracy, r.BestTestLoss, r.BestEpoch,
                        JobExpectations.Check(job).All(e => e.Held), JobExpectations.Check(job))
                    : null,
                Error = job.Error,
            },
            Links = Links(baseUrl, ("job", path), ("metrics", path + "/metrics"), ("checkpoints", path + "/checkpoints"),
                ("logs", path + "/logs"), ("webhooks", path + "/webhooks")),
        }, Json);
    }

    /// <summary>The sweep's status as an event type, or null while it runs.</summary>
    public static string? TypeOf(SweepRecord sweep, IReadOnlyCollection<JobRecord> jobs) =>
        SweepReport.StatusOf(sweep, jobs).Status is var status and not "running" ? "sweep." + status : null;

    /// <summary>The body for a sweep that ended, with its jobs by point.</summary>
    public static string ForSweep(Guid deliveryId, SweepRecord sweep, IReadOnlyList<SweepJob> jobs, string? baseUrl, DateTimeOffset now)
    {
        var (status, finishedAt) = SweepReport.StatusOf(sweep, [.. jobs.Select(j => j.Job)]);
        var best = jobs.Where(j => j.Job is { Status: JobStatus.Succeeded, Result: not null })
            .MaxBy(j => j.Job.Result!.FinalTestAccuracy);
        var path = $"/sweeps/{sweep.Id:D}";
        return JsonSerializer.Serialize(new WebhookEvent
        {
            Id = deliveryId,
            Type = "sweep." + status,
            CreatedAt = now,
            Sweep = new WebhookSweep
            {
                Id = sweep.Id,
                Name = sweep.Name,
                Status = status,
                CreatedAt = sweep.CreatedAt,
                FinishedAt = finishedAt,
                Points = sweep.Points.Count,
                Succeeded = jobs.Count(j => j.Job.Status == JobStatus.Succeeded),
                Failed = jobs.Count(j => j.Job.Status == JobStatus.Failed),
                Cancelled = jobs.Count(j => j.Job.Status == JobStatus.Cancelled && !TrialReport.IsStoppedBySearch(j.Job)),
                Stopped = jobs.Count(j => TrialReport.IsStoppedBySearch(j.Job)),
                Best = best is null ? null : new WebhookSweepBest(best.Point, best.Job.Id, TrialJobs.PointValues(sweep, best.Point), best.Job.Result!.FinalTestAccuracy),
            },
            Links = Links(baseUrl, ("sweep", path), ("jobs", $"/jobs?tag={TrialJobs.Tag(sweep.Id)}"), ("webhooks", path + "/webhooks")),
        }, Json);
    }

    private static Dictionary<string, string> Links(string? baseUrl, params (string Name, string Path)[] links) =>
        links.ToDictionary(l => l.Name, l => (baseUrl?.TrimEnd('/') ?? "") + l.Path, StringComparer.Ordinal);

    private static JsonSerializerOptions CreateJson()
    {
        // The API's own conventions (camelCase, lowercase enums, UTC times), so an event reads like a response.
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        ApiJson.Configure(options);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

/// <summary>A webhook event, as POSTed.</summary>
public sealed record WebhookEvent
{
    /// <summary>The delivery's id: the same on every attempt of this event to this receiver.</summary>
    public required Guid Id { get; init; }

    public required string Type { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public WebhookJob? Job { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public WebhookSweep? Sweep { get; init; }

    public required IReadOnlyDictionary<string, string> Links { get; init; }
}

/// <summary>The job an event is about, as it ended.</summary>
public sealed record WebhookJob
{
    public required Guid Id { get; init; }
    public required JobKind Kind { get; init; }
    public required string Architecture { get; init; }
    public required string? Name { get; init; }
    public required IReadOnlyList<string> Tags { get; init; }
    public required JobStatus Status { get; init; }
    /// <summary>Why it ended (the job's <c>terminationReason</c>).</summary>
    public required TerminationReason? TerminationReason { get; init; }
    public required int Attempt { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset? StartedAt { get; init; }
    public required DateTimeOffset? FinishedAt { get; init; }
    public required double? WallSeconds { get; init; }
    public required int? Epochs { get; init; }
    public required WebhookJobResult? Result { get; init; }
    public required JobError? Error { get; init; }
}

/// <summary>The figures of a job's result (the job's own record has the rest: confusion matrix, per-class accuracy).</summary>
/// <param name="FinalTestAccuracy">Test accuracy after the last epoch.</param>
/// <param name="FinalTestLoss">Mean test loss after the last epoch.</param>
/// <param name="BestTestAccuracy">The best epoch's test accuracy.</param>
/// <param name="BestTestLoss">The best epoch's test loss.</param>
/// <param name="BestEpoch">The epoch with the best test accuracy.</param>
/// <param name="Passed">Whether every expectation (<c>expect</c>) held: what a pipeline gates on.</param>
/// <param name="Expectations">Each expectation with its value.</param>
public sealed record WebhookJobResult(
    double FinalTestAccuracy, double FinalTestLoss, double? BestTestAccuracy, double? BestTestLoss, int? BestEpoch,
    bool Passed, IReadOnlyList<ExpectationOutcome> Expectations);

/// <summary>The sweep an event is about, as it ended.</summary>
public sealed record WebhookSweep
{
    public required Guid Id { get; init; }
    public required string? Name { get; init; }
    public required string Status { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset? FinishedAt { get; init; }
    public required int Points { get; init; }
    public required int Succeeded { get; init; }
    public required int Failed { get; init; }
    /// <summary>Jobs cancelled by someone (a person, or the sweep's cancel).</summary>
    public required int Cancelled { get; init; }
    /// <summary>Trials the sweep's early-stopping rule stopped (cancelled with reason <c>stopped-by-search</c>): not failures.</summary>
    public required int Stopped { get; init; }
    public required WebhookSweepBest? Best { get; init; }
}

/// <summary>The sweep's succeeded job with the highest final test accuracy.</summary>
public sealed record WebhookSweepBest(int Point, Guid JobId, IReadOnlyDictionary<string, JsonElement> Values, double FinalTestAccuracy);
