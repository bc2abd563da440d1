using TrainingService.Api.Datasets;
using TrainingService.Api.Jobs;
using TrainingService.Contracts.Datasets;
using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// Gives a sweep's trial its job, atomically: the job is built from the sweep
/// (<see cref="TrialJobs"/>), then stored and linked to its (sweep, point) in one transaction
/// (<see cref="ISweepStore.AllocateTrialAsync"/>), and handed to the queue only by the caller whose
/// transaction stored it. However many API processes allocate the same trial at once, one job is
/// stored and one is enqueued; the others find the trial taken and create nothing.
/// </summary>
public sealed class TrialAllocator(
    ISweepStore sweeps,
    IJobStore store,
    ICheckpointIndex checkpointIndex,
    IDatasetStore datasets,
    JobOutbox outbox,
    TimeProvider time,
    ILogger<TrialAllocator> logger)
{
    private long created;
    private long contended;

    /// <summary>Trials this process allocated (created the job of).</summary>
    public long Created => Interlocked.Read(ref created);

    /// <summary>
    /// Allocations this process attempted for a trial that turned out to be taken — by another process
    /// racing for it, or before this one read the sweep: the races it lost, and created nothing for.
    /// </summary>
    public long Contended => Interlocked.Read(ref contended);

    /// <summary>Creates trial <paramref name="point"/>'s job unless it has one; true when this call created it.</summary>
    public async Task<bool> AllocateAsync(SweepRecord sweep, int point, CancellationToken cancellationToken)
    {
        var now = StoredTime.Truncate(time.GetUtcNow()); // what the stores keep
        // Its datasets were checked against its owner's when it was created.
        var outcome = await TrialJobs.BuildAsync(sweep, point, store, checkpointIndex, now, cancellationToken, new DatasetLookup(datasets, _ => true));
        if (outcome.Job is null)
        {
            // Every value was checked when the sweep was created; this would take a change of rules since.
            logger.LogError("Sweep {SweepId} point {Point} no longer makes a valid job: {Errors}",
                sweep.Id, point, string.Join("; ", outcome.Errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
            return false;
        }
        var (job, isNew) = await sweeps.AllocateTrialAsync(sweep.Id, point, outcome.Job, cancellationToken);
        if (!isNew)
        {
            Interlocked.Increment(ref contended);
            logger.LogDebug("Sweep {SweepId} point {Point} was allocated already, as job {JobId}", sweep.Id, point, job.Id);
            return false;
        }
        Interlocked.Increment(ref created);
        await outbox.HandOverAsync(job, CancellationToken.None);
        logger.LogInformation("Sweep {SweepId} point {Point} ({Values}) is job {JobId}",
            sweep.Id, point, TrialJobs.Label(TrialJobs.PointValues(sweep, point)), job.Id);
        return true;
    }
}
