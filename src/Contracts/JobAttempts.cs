namespace TrainingService.Contracts;

/// <summary>One run of a job by a worker, as stored when it started and when it ended.</summary>
/// <param name="Number">1 for the first attempt.</param>
/// <param name="Worker">The worker that ran it.</param>
/// <param name="Device">The device it ran on (cpu, cuda:0).</param>
/// <param name="StartedAt">When the worker took the job.</param>
/// <param name="EndedAt">When it ended; null while it runs.</param>
/// <param name="Reason">Why it ended; null while it runs.</param>
/// <param name="Message">The error that ended it, if one did.</param>
/// <param name="StartedFromEpoch">The epoch it began in (1 for a fresh start; a resumed attempt's is after its checkpoint), once the worker knows.</param>
/// <param name="StartedFromStep">The step within that epoch it began at (0 unless it resumed mid-epoch).</param>
/// <param name="ReachedEpoch">The epoch it last reported, when it ended.</param>
/// <param name="ReachedStep">The step within that epoch it last reported.</param>
public sealed record JobAttempt(
    int Number,
    string Worker,
    string Device,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    TerminationReason? Reason,
    string? Message,
    int? StartedFromEpoch,
    long? StartedFromStep,
    int? ReachedEpoch,
    long? ReachedStep);

/// <summary>
/// The attempts of each job, written by the job store as attempts start and end
/// (<see cref="IJobStore.TryStartAttemptAsync"/>, <see cref="IJobStore.FinishAttemptAsync"/>) and read here.
/// </summary>
public interface IJobAttemptLog
{
    /// <summary>Every attempt of the job, first first.</summary>
    Task<IReadOnlyList<JobAttempt>> ListAttemptsAsync(Guid jobId, CancellationToken cancellationToken);

    /// <summary>
    /// Where the current attempt began, once the worker has loaded its checkpoint. False when the
    /// lease is no longer current.
    /// </summary>
    Task<bool> RecordStartPointAsync(Guid jobId, Guid leaseToken, int epoch, long step, CancellationToken cancellationToken);
}
