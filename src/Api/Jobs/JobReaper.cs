using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TrainingService.Contracts;

namespace TrainingService.Api.Jobs;

/// <summary>
/// Finds running jobs whose worker has stopped sending heartbeats, and hands them back to the
/// queue: each is marked interrupted under its own (stale) lease — so if that worker is in fact
/// alive, its next write is refused and it stops — and dispatched again, to resume from its last
/// checkpoint — or, when that was its last attempt (<see cref="WorkerOptions.MaxAttempts"/>), failed
/// with <c>error.kind = infrastructure</c>. A job asked to cancel ends cancelled instead. Runs in the
/// API, so no job is left "running" even when every worker is gone.
/// </summary>
/// <remarks>
/// While the database is away no worker can write a heartbeat, so when it comes back every running
/// job looks stale. After a failed sweep the reaper therefore waits one <see cref="WorkerOptions.StaleAfter"/>
/// of the database answering before it reaps again, giving live workers time to be heard.
/// </remarks>
public sealed class JobReaper(
    IJobStore store, IJobDatabase database, IJobDispatcher dispatcher, IOptions<WorkerOptions> options, TimeProvider time, ILogger<JobReaper> logger)
    : BackgroundService
{
    /// <summary>When the last sweep failed (the database was away); null when sweeps have been succeeding.</summary>
    private DateTimeOffset? lastFailedSweep;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.ReaperInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (lastFailedSweep is { } failed && time.GetUtcNow() - failed < options.Value.StaleAfter)
                {
                    // Reaping waits until the database has answered long enough for workers to be heard;
                    // while it is still away, the wait starts again.
                    if (!await database.PingAsync(stoppingToken)) lastFailedSweep = time.GetUtcNow();
                }
                else
                {
                    await SweepAsync(stoppingToken);
                    lastFailedSweep = null;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                lastFailedSweep = time.GetUtcNow();
                logger.LogWarning(e, "Looking for jobs whose worker was lost failed; trying again in {Interval}", interval);
            }
            try { await Task.Delay(interval, time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>One pass: returns how many jobs were handed back.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var staleBefore = time.GetUtcNow() - options.Value.StaleAfter;
        var reaped = 0;
        foreach (var status in new[] { JobStatus.Running, JobStatus.Cancelling })
        {
            foreach (var job in await store.ListAsync(new JobQuery(Status: status, Limit: 200), cancellationToken))
            {
                if (job.LeaseToken is not { } lease || job.HeartbeatAt is { } beat && beat >= staleBefore)
                    continue;
                // A lost worker counts against the job's attempts like any infrastructure failure:
                // a job that gets its worker killed every time (the kernel's OOM killer, say) must
                // not be handed back forever. (A cancelling job ends cancelled either way.)
                var noAttemptsLeft = job.Status == JobStatus.Running && job.Attempt >= options.Value.MaxAttempts;
                var error = new JobError(JobErrorKind.Infrastructure, noAttemptsLeft
                    ? $"Attempt {job.Attempt} of {options.Value.MaxAttempts}: worker {job.Worker} stopped sending heartbeats — its process was " +
                      "killed or crashed (the kernel's out-of-memory killer ends a process this way: try a smaller batchSize); no attempts left."
                    : $"Worker {job.Worker} stopped sending heartbeats during attempt {job.Attempt}.");
                var outcome = noAttemptsLeft ? JobStatus.Failed : JobStatus.Interrupted;
                if (!await store.FinishAttemptAsync(job.Id, lease, outcome, TerminationReason.WorkerLost, null, error, time.GetUtcNow(), cancellationToken))
                    continue; // its worker wrote in the meantime, or another sweep got there first
                reaped++;
                var after = await store.GetAsync(job.Id, cancellationToken);
                logger.LogWarning("Job {JobId}: worker {Worker} lost (last heartbeat {Heartbeat}); job is {Status}",
                    job.Id, job.Worker, job.HeartbeatAt, after?.Status);
                if (after is { Status: JobStatus.Interrupted or JobStatus.Queued })
                    dispatcher.Dispatch(after);
            }
        }
        return reaped;
    }
}
