using Microsoft.Extensions.Options;
using TrainingService.Api.Jobs;
using TrainingService.Api.Security;
using TrainingService.Contracts;
using TrainingService.Contracts.Access;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// Runs sweeps: in each pass over a sweep, its early-stopping rule judges the trials' new epochs
/// (<see cref="EarlyStopper"/>), then, while it has fewer than <c>maxConcurrent</c> jobs queued or
/// running, its next points in order become jobs (<see cref="TrialAllocator"/>: stored with their
/// trial's link in one transaction, then handed to the queue by the <see cref="JobOutbox"/>). Runs
/// every <c>JobsApi:SweepSchedulerInterval</c> and right after a sweep is created. Safe to run in every
/// API process at once: a trial takes one job, whoever races for it, and a decision is made once.
/// </summary>
/// <remarks>
/// A sweep's jobs carry the sweep's owner, so with authentication on they count toward the owner's
/// cap on unfinished jobs (<c>Limits:MaxUnfinishedJobsPerKey</c>), and a pass never creates more than
/// the owner has room for: points wait, they do not fail, until the owner's jobs end. Passes in one
/// process take turns, so there the cap holds exactly; API processes running passes at the same time
/// (or a submission racing a pass) may pass it together by a few, as concurrent submissions may.
/// </remarks>
public sealed class SweepScheduler(
    ISweepStore sweeps,
    IJobStore store,
    TrialAllocator allocator,
    EarlyStopper stopper,
    IOptions<JobsApiOptions> options,
    IOptions<AuthOptions> auth,
    IOptions<LimitsOptions> limits,
    TimeProvider time,
    ILogger<SweepScheduler> logger)
    : BackgroundService
{
    // One pass at a time in this process, so a pass and a cancellation don't interleave.
    private readonly SemaphoreSlim gate = new(1, 1);

    /// <summary>Judges the sweep's trials, then creates jobs for its next points, up to its concurrency limit; returns how many it created.</summary>
    public async Task<int> AdvanceAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            var sweep = await sweeps.GetSweepAsync(sweepId, cancellationToken);
            if (sweep is null || sweep.CancelRequested)
                return 0;
            var jobs = await sweeps.GetSweepJobsAsync(sweep.Id, cancellationToken);
            if (await stopper.JudgeAsync(sweep, jobs, cancellationToken) > 0)
                jobs = await sweeps.GetSweepJobsAsync(sweep.Id, cancellationToken);
            var taken = jobs.Select(j => j.Point).ToHashSet();
            if (taken.Count == sweep.Points.Count)
                return 0;
            var free = sweep.MaxConcurrent - jobs.Count(j => !j.Job.Status.IsTerminal());
            if (free > 0)
                free = Math.Min(free, await OwnerRoomAsync(sweep, cancellationToken));
            var created = 0;
            foreach (var point in Enumerable.Range(0, sweep.Points.Count).Where(p => !taken.Contains(p)).Take(Math.Max(0, free)))
            {
                if (await allocator.AllocateAsync(sweep, point, cancellationToken))
                    created++;
            }
            return created;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// How many more unfinished jobs the sweep's owner may have: the cap less those they have now, or
    /// no bound for a sweep without an owner, with authentication off, or with the cap off (0), as for
    /// <c>POST /jobs</c>.
    /// </summary>
    private async Task<int> OwnerRoomAsync(SweepRecord sweep, CancellationToken cancellationToken)
    {
        var cap = limits.Value.MaxUnfinishedJobsPerKey;
        if (!auth.Value.IsEnabled || sweep.Owner is null || cap == 0)
            return int.MaxValue;
        var unfinished = await store.CountUnfinishedJobsAsync(sweep.Owner, cancellationToken);
        if (unfinished >= cap)
            logger.LogDebug("Sweep {SweepId} waits: its owner '{Owner}' has {Unfinished} unfinished jobs, the cap (Limits:MaxUnfinishedJobsPerKey) is {Cap}",
                sweep.Id, sweep.Owner, unfinished, cap);
        return Math.Max(0, cap - unfinished);
    }

    /// <summary>Stops the sweep creating jobs and cancels those not finished; false when there is no such sweep.</summary>
    public async Task<bool> CancelAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (await sweeps.GetSweepAsync(sweepId, cancellationToken) is null)
                return false;
            await sweeps.RequestSweepCancelAsync(sweepId, time.GetUtcNow(), cancellationToken);
            foreach (var job in await sweeps.GetSweepJobsAsync(sweepId, cancellationToken))
            {
                if (!job.Job.Status.IsTerminal())
                    await store.RequestCancelAsync(job.Job.Id, time.GetUtcNow(), cancellationToken);
            }
            return true;
        }
        finally
        {
            gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SweepSchedulerInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var sweep in await sweeps.ListOpenSweepsAsync(stoppingToken))
                    await AdvanceAsync(sweep.Id, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Advancing sweeps failed; trying again in {Interval}", interval);
            }
            try { await Task.Delay(interval, time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
