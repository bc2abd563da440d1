using TrainingService.Contracts.Training;

namespace TrainingService.Contracts;

/// <summary>
/// The records of jobs, their epochs, checkpoints, logs and the workers, in PostgreSQL or SQLite.
/// Every write a worker makes for a running job carries the attempt's lease token; the store
/// applies it only while that token is the job's current one and returns false otherwise, so a
/// stale attempt (a worker presumed dead that is in fact still running) can change nothing.
/// </summary>
public interface IJobStore
{
    /// <summary>Creates or upgrades the schema. Safe to call from every process at start.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores a new job. When <see cref="JobRecord.IdempotencyKey"/> is set and a job with that key
    /// exists, stores nothing and returns the existing job with <c>Created = false</c>.
    /// </summary>
    Task<(JobRecord Job, bool Created)> CreateAsync(JobRecord job, CancellationToken cancellationToken);

    Task<JobRecord?> GetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>How many jobs are in each status now (statuses with none are left out); for monitoring.</summary>
    Task<IReadOnlyDictionary<JobStatus, long>> CountByStatusAsync(CancellationToken cancellationToken);

    /// <summary>Newest first (CreatedAt, then Id, descending), filtered, at most <see cref="JobQuery.Limit"/>.</summary>
    Task<IReadOnlyList<JobRecord>> ListAsync(JobQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Starts a new attempt: a queued, interrupted or running job (the latter only when its
    /// heartbeat is older than <paramref name="staleBefore"/>, i.e. its worker is presumed dead)
    /// becomes running with <c>Attempt + 1</c>, the given lease token, worker and device, and
    /// <c>StartedAt</c> set if it was unset. Returns the updated job, or null when the job is
    /// missing, terminal, cancelling, or running under a live lease.
    /// </summary>
    Task<JobRecord?> TryStartAttemptAsync(Guid id, Guid leaseToken, string worker, string device, DateTimeOffset now, DateTimeOffset staleBefore, CancellationToken cancellationToken);

    /// <summary>Stores progress and refreshes the heartbeat. False when the lease is no longer current.</summary>
    Task<bool> UpdateProgressAsync(Guid id, Guid leaseToken, JobProgress progress, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Refreshes the heartbeat only. False when the lease is no longer current.</summary>
    Task<bool> HeartbeatAsync(Guid id, Guid leaseToken, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Records (or, for a re-run epoch, replaces) an epoch's metrics. False when the lease is no longer current.</summary>
    Task<bool> RecordEpochAsync(Guid id, Guid leaseToken, EpochMetrics metrics, DateTimeOffset recordedAt, CancellationToken cancellationToken);

    /// <summary>Records (or replaces) a checkpoint's record. False when the lease is no longer current.</summary>
    Task<bool> RecordCheckpointAsync(Guid id, Guid leaseToken, CheckpointRecord checkpoint, CancellationToken cancellationToken);

    /// <summary>
    /// Ends the current attempt: <paramref name="status"/> is succeeded, failed or cancelled (terminal:
    /// FinishedAt set, lease cleared) or queued (the attempt was interrupted and the job waits to be
    /// taken up again: lease, worker and device cleared; interrupted does the same). A job whose
    /// cancellation was asked for becomes cancelled instead of queued, since no attempt may start it
    /// again. False when the lease is no longer current.
    /// </summary>
    Task<bool> FinishAttemptAsync(Guid id, Guid leaseToken, JobStatus status, JobResult? result, JobError? error, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Fails a job that never started (queued, attempt 0) with <paramref name="error"/>: for a job no
    /// worker will ever take. False when the job has started, ended or does not exist.
    /// </summary>
    Task<bool> FailUnstartedAsync(Guid id, JobError error, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Notes that the job has been handed to the queue, so the dispatch sweep leaves it alone.</summary>
    Task MarkDispatchedAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Queued jobs never marked dispatched and created before <paramref name="createdBefore"/>,
    /// oldest first: those whose hand-over to the queue failed or was cut off by a crash.
    /// </summary>
    Task<IReadOnlyList<JobRecord>> ListUndispatchedAsync(DateTimeOffset createdBefore, int limit, CancellationToken cancellationToken);

    /// <summary>Asks for cancellation (see <see cref="CancelOutcome"/>), atomically with respect to the job's status.</summary>
    Task<CancelOutcome> RequestCancelAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The epochs recorded after <paramref name="sinceEpoch"/> (0 for all), by epoch.</summary>
    Task<IReadOnlyList<EpochRecord>> GetEpochsAsync(Guid id, int sinceEpoch, CancellationToken cancellationToken);

    Task<IReadOnlyList<CheckpointRecord>> GetCheckpointsAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Appends log events; their <see cref="JobLogRecord.Sequence"/> is ignored and assigned by the store.</summary>
    Task AppendLogsAsync(IReadOnlyList<JobLogRecord> logs, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> log events of a job with a sequence above <paramref name="afterSequence"/>, in order.</summary>
    Task<IReadOnlyList<JobLogRecord>> GetLogsAsync(Guid id, long afterSequence, int limit, CancellationToken cancellationToken);

    /// <summary>Stores a new sweep (no jobs yet: the sweep scheduler creates them, point by point).</summary>
    Task CreateSweepAsync(SweepRecord sweep, CancellationToken cancellationToken);

    Task<SweepRecord?> GetSweepAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Newest first (CreatedAt, then Id, descending), filtered by owner when the query says so.</summary>
    Task<IReadOnlyList<SweepRecord>> ListSweepsAsync(SweepQuery query, CancellationToken cancellationToken);

    /// <summary>Sweeps not cancelled that still have points without a job.</summary>
    Task<IReadOnlyList<SweepRecord>> ListOpenSweepsAsync(CancellationToken cancellationToken);

    /// <summary>Links <paramref name="jobId"/> to a point of a sweep; false when that point has a job already.</summary>
    Task<bool> AddSweepJobAsync(Guid sweepId, int point, Guid jobId, CancellationToken cancellationToken);

    /// <summary>The sweep's jobs so far, by point.</summary>
    Task<IReadOnlyList<SweepJob>> GetSweepJobsAsync(Guid sweepId, CancellationToken cancellationToken);

    /// <summary>Marks the sweep cancelled (no more jobs are created); false when it does not exist or was cancelled already.</summary>
    Task<bool> RequestSweepCancelAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken);

    Task UpsertWorkerAsync(WorkerRecord worker, CancellationToken cancellationToken);

    /// <summary>Workers whose last heartbeat is at or after <paramref name="aliveSince"/>.</summary>
    Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(DateTimeOffset aliveSince, CancellationToken cancellationToken);

    Task RemoveWorkerAsync(string id, CancellationToken cancellationToken);

    /// <summary>True when the database answers.</summary>
    Task<bool> PingAsync(CancellationToken cancellationToken);
}
