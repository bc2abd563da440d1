using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Storage;

/// <summary>A row of <c>jobs</c> as read (see <see cref="StoredValues"/>): JSON columns as their text.</summary>
internal class JobRow
{
    /// <summary>The columns a <see cref="JobRow"/> is read from, in the order the inserts write them.</summary>
    public const string Columns =
        "id, kind, architecture, status, name, tags, hyperparameters, source, idempotency_key, queue, " +
        "created_at, started_at, finished_at, attempt, lease_token, worker, device, heartbeat_at, " +
        "cancel_requested, progress, result, error, owner, expect, trace_parent, termination_reason, dataset";

    public Guid Id { get; init; }
    public JobKind Kind { get; init; }
    public required string Architecture { get; init; }
    public JobStatus Status { get; init; }
    public string? Name { get; init; }
    public required string Tags { get; init; }
    public required string Hyperparameters { get; init; }
    public string? Source { get; init; }
    public string? IdempotencyKey { get; init; }
    public required string Queue { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public int Attempt { get; init; }
    public Guid? LeaseToken { get; init; }
    public string? Worker { get; init; }
    public string? Device { get; init; }
    public DateTimeOffset? HeartbeatAt { get; init; }
    public bool CancelRequested { get; init; }
    public string? Progress { get; init; }
    public string? Result { get; init; }
    public string? Error { get; init; }
    public string? Owner { get; init; }
    public string? Expect { get; init; }
    public string? TraceParent { get; init; }
    public string? TerminationReason { get; init; }
    public required string Dataset { get; init; }

    public JobRecord ToRecord() => new()
    {
        Id = Id,
        Kind = Kind,
        Architecture = Architecture,
        Status = Status,
        Name = Name,
        Tags = JobStoreJson.Deserialize<string[]>(Tags),
        Hyperparameters = JobStoreJson.Deserialize<Hyperparameters>(Hyperparameters),
        Source = JobStoreJson.DeserializeOrNull<EvalSource>(Source),
        IdempotencyKey = IdempotencyKey,
        Queue = Queue,
        CreatedAt = CreatedAt,
        StartedAt = StartedAt,
        FinishedAt = FinishedAt,
        Attempt = Attempt,
        LeaseToken = LeaseToken,
        Worker = Worker,
        Device = Device,
        HeartbeatAt = HeartbeatAt,
        CancelRequested = CancelRequested,
        Progress = JobStoreJson.DeserializeOrNull<JobProgress>(Progress),
        Result = JobStoreJson.DeserializeOrNull<JobResult>(Result),
        Error = JobStoreJson.DeserializeOrNull<JobError>(Error),
        Owner = Owner,
        Expect = JobStoreJson.DeserializeOrNull<Dictionary<string, ExpectationBound>>(Expect),
        TraceParent = TraceParent,
        TerminationReason = TerminationReason is null ? null : JobStoreJson.Deserialize<TerminationReason>($"\"{TerminationReason}\""),
        Dataset = Dataset,
    };

    /// <summary>A job status or kind as the <c>status</c> and <c>kind</c> columns keep it.</summary>
    public static string Text<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    /// <summary>A termination reason as the <c>termination_reason</c> and <c>job_attempts.reason</c> columns keep it: its wire name.</summary>
    public static string Text(TerminationReason reason) => JobStoreJson.Serialize(reason).Trim('"');
}

/// <summary>A job with the point of the sweep it runs (<c>sweep_jobs</c> joined to <c>jobs</c>).</summary>
internal sealed class SweepJobRow : JobRow
{
    public int SweepPoint { get; init; }
}
