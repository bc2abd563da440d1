using System.Text.Json.Serialization;
using TrainingService.Contracts.Training;

namespace TrainingService.Contracts;

[JsonConverter(typeof(JsonStringEnumConverter<JobKind>))]
public enum JobKind
{
    /// <summary>Train an architecture on a dataset (MNIST unless the job names another).</summary>
    Train,
    /// <summary>Evaluate a checkpoint of an earlier training job on a test set (its source's dataset's unless the job names another).</summary>
    Eval,
}

/// <summary>
/// A job's place in its lifecycle, owned by the server. Terminal: succeeded, failed, cancelled.
/// queued → running → succeeded | failed | cancelling → cancelled; running → interrupted → queued
/// when a worker stops or dies before the job ends (it resumes from its last checkpoint).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))]
public enum JobStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    /// <summary>Cancellation was asked for; the worker stops at the next step boundary.</summary>
    Cancelling,
    Cancelled,
    /// <summary>The worker running it stopped or was lost; the job waits to be taken up again.</summary>
    Interrupted,
}

[JsonConverter(typeof(JsonStringEnumConverter<JobErrorKind>))]
public enum JobErrorKind
{
    /// <summary>The job's own inputs make it fail (bad checkpoint, diverged loss, device not available): not retried.</summary>
    User,
    /// <summary>The machinery failed (database, disk, process): retried up to the configured attempts.</summary>
    Infrastructure,
    /// <summary>The job ran past its maximum run time.</summary>
    Timeout,
}

public static class JobStatuses
{
    public static bool IsTerminal(this JobStatus status) => status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled;
}

public sealed record JobError(JobErrorKind Kind, string Message);

/// <summary>What an eval job evaluates: a checkpoint of a training job — <c>final</c>, <c>best</c> or an epoch number.</summary>
public sealed record EvalSource(Guid JobId, string Checkpoint);

/// <summary>Where a running job is, refreshed by its worker at least every 2 seconds.</summary>
public sealed record JobProgress(
    int Epoch,
    int Epochs,
    long Step,
    long StepsPerEpoch,
    double SamplesPerSecond,
    double? EtaSeconds,
    double? RunningLoss,
    double? RunningAccuracy,
    DateTimeOffset UpdatedAt);

/// <summary>How a job ended up. Accuracies are fractions.</summary>
public sealed record JobResult(
    double FinalTestAccuracy,
    double FinalTestLoss,
    double? BestTestAccuracy,
    double? BestTestLoss,
    int? BestEpoch,
    long[][]? ConfusionMatrix,
    double[]? PerClassAccuracy);

/// <summary>One job as stored. Only the store and the worker change it; the API maps it to wire types.</summary>
public sealed record JobRecord
{
    public required Guid Id { get; init; }
    public required JobKind Kind { get; init; }
    public required string Architecture { get; init; }
    public JobStatus Status { get; init; } = JobStatus.Queued;
    public string? Name { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public required Hyperparameters Hyperparameters { get; init; }
    /// <summary>What it trains or evaluates on: <c>mnist</c>, <c>fashion-mnist</c>, or an uploaded dataset's id.</summary>
    public string Dataset { get; init; } = Datasets.DatasetCatalog.DefaultName;
    public EvalSource? Source { get; init; }
    /// <summary>The client's Idempotency-Key header: a second submission with the same key returns this job.</summary>
    public string? IdempotencyKey { get; init; }
    /// <summary>The Hangfire queue it was sent to (<c>cpu</c>, <c>gpu</c> or <c>default</c>).</summary>
    public string Queue { get; init; } = "default";
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>How many times a worker has started the job (1 on the first run).</summary>
    public int Attempt { get; init; }
    /// <summary>The current attempt's fencing token: writes carrying another token are refused.</summary>
    public Guid? LeaseToken { get; init; }
    public string? Worker { get; init; }
    public string? Device { get; init; }
    public DateTimeOffset? HeartbeatAt { get; init; }
    public bool CancelRequested { get; init; }
    public JobProgress? Progress { get; init; }
    public JobResult? Result { get; init; }
    public JobError? Error { get; init; }
    /// <summary>
    /// The name of the API key that submitted it; null when authentication was off (such jobs are
    /// visible to everyone while it stays off, and to admins only once it is on).
    /// </summary>
    public string? Owner { get; init; }

    /// <summary>Conditions on the final figures a CI pipeline gates on (<see cref="JobExpectations"/>), by figure name; null for none.</summary>
    public IReadOnlyDictionary<string, ExpectationBound>? Expect { get; init; }

    /// <summary>The W3C traceparent of the request that submitted it: later work on the job continues that trace.</summary>
    public string? TraceParent { get; init; }

    /// <summary>Why it ended: its final attempt's reason, or why it never started. Null while it has not ended.</summary>
    public TerminationReason? TerminationReason { get; init; }
}

/// <summary>One epoch's metrics as recorded, keyed by (job, epoch).</summary>
public sealed record EpochRecord(Guid JobId, EpochMetrics Metrics, DateTimeOffset RecordedAt)
{
    /// <summary>Who trained it, and how many steps (null for epochs recorded before attempts were).</summary>
    public EpochTraining? Training { get; init; }

    /// <summary>
    /// Writes of the same epoch by another attempt (or with other steps) after it was recorded:
    /// kept as evidence, never applied. Empty unless the epoch was trained twice.
    /// </summary>
    public IReadOnlyList<EpochConflict> Conflicts { get; init; } = [];

    public bool Equals(EpochRecord? other) =>
        other is not null && JobId == other.JobId && Metrics == other.Metrics && RecordedAt == other.RecordedAt
        && Equals(Training, other.Training) && Conflicts.SequenceEqual(other.Conflicts);

    public override int GetHashCode() => HashCode.Combine(JobId, Metrics, RecordedAt, Training);
}

/// <summary>A write of an epoch already recorded by another attempt: who trained it again, and when that write came.</summary>
public sealed record EpochConflict(EpochTraining Training, DateTimeOffset RecordedAt);

/// <summary>What became of a write of an epoch (see <see cref="IEpochStore.RecordEpochAsync"/>).</summary>
public enum EpochWrite
{
    /// <summary>The epoch had no record: this is it now.</summary>
    Recorded,
    /// <summary>The same record was there already (a retried write, or one re-made from the epoch's checkpoint): nothing changed.</summary>
    AlreadyRecorded,
    /// <summary>Another attempt had recorded the epoch: it was trained twice. Its record stands; this write is kept as a conflict.</summary>
    Conflict,
    /// <summary>The lease was no longer the job's current one: nothing was written, and the attempt must stop.</summary>
    LeaseLost,
}

/// <summary>A checkpoint a job wrote, keyed by (job, epoch); the files themselves are on the checkpoint volume.</summary>
public sealed record CheckpointRecord(Guid JobId, int Epoch, long SizeBytes, string Sha256, EpochMetrics? Metrics, DateTimeOffset CreatedAt);

/// <summary>A structured log event of one job. <see cref="Sequence"/> is assigned by the store and increases.</summary>
public sealed record JobLogRecord(long Sequence, Guid JobId, DateTimeOffset Timestamp, string Level, string Message, string? PropertiesJson);

/// <summary>A worker process, as its heartbeat last reported it.</summary>
public sealed record WorkerRecord(
    string Id,
    string Host,
    IReadOnlyList<string> Queues,
    string Device,
    Guid? RunningJobId,
    DateTimeOffset StartedAt,
    DateTimeOffset LastHeartbeat);

/// <summary>
/// A page of <see cref="IJobStore.ListAsync"/>: newest first; <see cref="After"/> continues after a given
/// job; <see cref="Owner"/>, when set, keeps only that owner's jobs.
/// </summary>
public sealed record JobQuery(
    JobStatus? Status = null,
    string? Architecture = null,
    JobKind? Kind = null,
    string? Tag = null,
    int Limit = 50,
    JobCursor? After = null,
    string? Owner = null);

/// <summary>Position in the newest-first order: (CreatedAt, Id) of the last job of the previous page.</summary>
public sealed record JobCursor(DateTimeOffset CreatedAt, Guid Id);

public enum CancelOutcome
{
    NotFound,
    /// <summary>It was queued: now cancelled, and it will never start.</summary>
    CancelledBeforeStart,
    /// <summary>It is running: now cancelling; the worker stops it at the next step.</summary>
    CancellationRequested,
    /// <summary>Already cancelling: nothing changed.</summary>
    AlreadyCancelling,
    /// <summary>It had already ended (succeeded, failed or cancelled): nothing changed.</summary>
    AlreadyFinished,
}
