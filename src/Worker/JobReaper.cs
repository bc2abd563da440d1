using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TrainingService.Jobs;
using TrainingService.Worker.Hosting;

namespace TrainingService.Worker;

/// <summary>
/// Finds running jobs whose worker has stopped sending heartbeats, and hands them back to the
/// queue: each is marked interrupted under its own (stale) lease — so if that worker is in fact
/// alive, its next write is refused and it stops — and dispatched again, to resume from its last
/// checkpoint. A job asked to cancel ends cancelled instead. Runs in the API, so no job is left
/// "running" even when every worker is gone.
/// </summary>
public sealed class JobReaper(
    IJobStore store, IJobDispatcher dispatcher, IOptions<WorkerOptions> options, TimeProvider time, ILogger<JobReaper> logger)
    : BackgroundService
{
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Looking for jobs whose worker was lost failed; trying again in {Interval}", SweepInterval);
            }
            try { await Task.Delay(SweepInterval, time, stoppingToken); }
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
                var error = new JobError(JobErrorKind.Infrastructure, $"Worker {job.Worker} stopped sending heartbeats during attempt {job.Attempt}.");
                if (!await store.FinishAttemptAsync(job.Id, lease, JobStatus.Interrupted, null, error, time.GetUtcNow(), cancellationToken))
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
