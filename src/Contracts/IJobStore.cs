namespace TrainingService.Contracts;

/// <summary>
/// The jobs and their attempts' leases, in PostgreSQL or SQLite. Every write a worker makes for a
/// running job carries the attempt's lease token; the stores apply it only while that token is the
/// job's current one and return false otherwise, so a stale attempt (a worker presumed dead that is
/// in fact still running) can change nothing. The job's other records have stores of their own
/// (<see cref="IEpochStore"/>, <see cref="ICheckpointIndex"/>, <see cref="IJobLogStore"/>), fenced by the same token.
/// </summary>
public interface IJobStore
{
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

    /// <summary>
    /// Ends the current attempt: <paramref name="status"/> is succeeded, failed or cancelled (terminal:
    /// FinishedAt set, lease cleared) or queued (the attempt was interrupted and the job waits to be
    /// taken up again: lease, worker and device cleared; interrupted does the same). A job whose
    /// cancellation was asked for becomes cancelled instead of queued, since no attempt may start it
    /// again. <paramref name="reason"/> is why the attempt ended: it is stored with the attempt
    /// (<see cref="IJobAttemptLog"/>) and, when the job ends, as the job's. False when the lease is no longer current.
    /// </summary>
    Task<bool> FinishAttemptAsync(Guid id, Guid leaseToken, JobStatus status, TerminationReason reason, JobResult? result, JobError? error, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Fails a job that never started (queued, attempt 0) with <paramref name="error"/>: for a job no
    /// worker will ever take (its termination reason: <see cref="TerminationReason.NoWorker"/>). False
    /// when the job has started, ended or does not exist.
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

    /// <summary>
    /// Asks for cancellation as <see cref="RequestCancelAsync(Guid, DateTimeOffset, CancellationToken)"/> does,
    /// remembering <paramref name="reason"/> as why: the job's termination reason once it ends
    /// cancelled, whatever reason the attempt that stops it gives (a worker knows only that it was
    /// cancelled). <see cref="TerminationReason.StoppedBySearch"/> for a sweep's early stopping. When
    /// cancellation was asked for already, the first reason stays.
    /// </summary>
    Task<CancelOutcome> RequestCancelAsync(Guid id, TerminationReason reason, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>How many of the owner's jobs have not ended (queued, running, cancelling, interrupted): the API's per-owner cap.</summary>
    Task<int> CountUnfinishedJobsAsync(string owner, CancellationToken cancellationToken);

    /// <summary>Whether a job was stored under this idempotency key (a retry of it is no new job, so no cap applies).</summary>
    Task<bool> IdempotencyKeyUsedAsync(string idempotencyKey, CancellationToken cancellationToken);
}
