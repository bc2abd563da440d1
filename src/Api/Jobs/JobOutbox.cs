using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using TrainingService.Contracts;
using TrainingService.Contracts.Telemetry;

namespace TrainingService.Api.Jobs;

/// <summary>
/// Hands stored jobs to the queue. A submission stores the job first and then passes it here
/// (<see cref="Post"/>), to be handed over in the background as soon as the submissions arriving
/// with it have been answered (<see cref="SettleAsync"/>); should that fail — the
/// queue's storage away for a moment, or the process killed before it happened — the job stays in
/// the store marked undispatched, and the sweep here hands it over later. So a stored job is never left queued forever; at worst
/// it is enqueued twice, which is harmless because a run claims its job with a lease and a second
/// run of the same job finds it taken or finished. The same sweep fails never-started jobs that no
/// live worker will take (<see cref="FailUnservedAsync"/>).
/// </summary>
public sealed class JobOutbox(
    IJobStore store, IWorkerRegistry workers, IJobDispatcher dispatcher, IOptions<JobsApiOptions> options, TimeProvider time, ILogger<JobOutbox> logger)
    : BackgroundService
{
    private const int SweepBatch = 100;
    private long completedSweeps;

    // Hangfire's storage API is synchronous: enqueuing in the request would block a thread-pool
    // thread per submission, and a burst of submissions would starve the pool and stall every
    // other request. One background reader does it instead.
    private readonly Channel<JobRecord> handOvers = Channel.CreateUnbounded<JobRecord>(new UnboundedChannelOptions { SingleReader = true });
    private long pendingHandOvers;

    /// <summary>Jobs posted whose hand-over has not been tried yet.</summary>
    public long PendingHandOvers => Interlocked.Read(ref pendingHandOvers);

    /// <summary>Queues a just-stored job for hand-over in the background and returns at once.</summary>
    public void Post(JobRecord job)
    {
        Interlocked.Increment(ref pendingHandOvers);
        if (handOvers.Writer.TryWrite(job))
            return;
        Interlocked.Decrement(ref pendingHandOvers);
        logger.LogWarning("Job {JobId} is stored but the service is stopping; the dispatch sweep enqueues it after the restart", job.Id);
    }

    /// <summary>Sweeps finished since start, failed ones included.</summary>
    public long CompletedSweeps => Interlocked.Read(ref completedSweeps);

    /// <summary>Enqueues <paramref name="job"/> and marks it dispatched; false (logged) when either step failed.</summary>
    public async Task<bool> HandOverAsync(JobRecord job, CancellationToken cancellationToken)
    {
        using var span = JobTracing.StartForJob("job.enqueue", job.Id, job.TraceParent, ActivityKind.Producer);
        span?.SetTag("trainingservice.job.queue", job.Queue);
        try
        {
            dispatcher.Dispatch(job);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            span?.SetStatus(ActivityStatusCode.Error, e.Message);
            logger.LogWarning(e, "Job {JobId} is stored but could not be enqueued; the dispatch sweep retries within {Interval}",
                job.Id, options.Value.DispatchSweepInterval * 2);
            return false;
        }
        try
        {
            await store.MarkDispatchedAsync(job.Id, time.GetUtcNow(), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Enqueued but not marked: the sweep will enqueue it once more, which the lease makes harmless.
            logger.LogWarning(e, "Job {JobId} is enqueued but could not be marked dispatched", job.Id);
        }
        return true;
    }

    /// <summary>One pass: hands over jobs left undispatched for longer than the sweep interval; returns how many.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        // The grace period keeps the sweep away from jobs whose submission is handing them over right now.
        var createdBefore = time.GetUtcNow() - options.Value.DispatchSweepInterval;
        var handedOver = 0;
        foreach (var job in await store.ListUndispatchedAsync(createdBefore, SweepBatch, cancellationToken))
        {
            logger.LogWarning("Job {JobId} was stored {Age:g} ago but never enqueued; enqueuing it now",
                job.Id, time.GetUtcNow() - job.CreatedAt);
            if (await HandOverAsync(job, cancellationToken))
                handedOver++;
        }
        return handedOver;
    }

    /// <summary>Workers heard from within this are alive (they beat every few seconds).</summary>
    private static readonly TimeSpan WorkerAliveWindow = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Fails never-started jobs that have waited longer than <c>UnservedQueueTimeout</c> on a queue
    /// no live worker takes from; returns how many. Does nothing while no worker is alive at all
    /// (a restart, an outage), since then no queue is served and nothing is learnt.
    /// </summary>
    public async Task<int> FailUnservedAsync(CancellationToken cancellationToken)
    {
        var timeout = options.Value.UnservedQueueTimeout;
        if (timeout <= TimeSpan.Zero)
            return 0;
        var now = time.GetUtcNow();
        var alive = await workers.ListWorkersAsync(now - WorkerAliveWindow, cancellationToken);
        if (alive.Count == 0)
            return 0;
        var served = alive.SelectMany(w => w.Queues).ToHashSet(StringComparer.Ordinal);
        var failed = 0;
        foreach (var job in await QueuedJobsAsync(cancellationToken))
        {
            if (job.Attempt > 0 || served.Contains(job.Queue) || now - job.CreatedAt < timeout)
                continue;
            var fleet = string.Join("; ", alive.Select(w => $"{w.Id} takes {string.Join(",", w.Queues)} on {w.Device}"));
            var error = new JobError(JobErrorKind.User,
                $"No live worker takes jobs from the {job.Queue} queue, where device {job.Hyperparameters.Device} sends this job, " +
                $"and none has for {timeout:g}. Workers alive: {fleet}. Resubmit with a device one of them has (auto or cpu), or add a worker for {job.Queue}.");
            if (await store.FailUnstartedAsync(job.Id, error, now, cancellationToken))
            {
                failed++;
                logger.LogWarning("Job {JobId} failed: nobody serves its {Queue} queue", job.Id, job.Queue);
            }
        }
        return failed;
    }

    /// <summary>Queued jobs, newest first, page by page, up to a bound that keeps one pass short.</summary>
    private async Task<List<JobRecord>> QueuedJobsAsync(CancellationToken cancellationToken)
    {
        const int maxPages = 20;
        var jobs = new List<JobRecord>();
        JobCursor? after = null;
        for (var page = 0; page < maxPages; page++)
        {
            var batch = await store.ListAsync(new JobQuery(Status: JobStatus.Queued, Limit: SweepBatch, After: after), cancellationToken);
            jobs.AddRange(batch);
            if (batch.Count < SweepBatch)
                break;
            after = new JobCursor(batch[^1].CreatedAt, batch[^1].Id);
        }
        return jobs;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(HandOverPostedJobsAsync(stoppingToken), SweepPeriodicallyAsync(stoppingToken));

    /// <summary>How long the posts must pause before a batch is handed over.</summary>
    private static readonly TimeSpan SettleQuiet = TimeSpan.FromMilliseconds(5);

    /// <summary>The longest a posted job waits for the posts to pause.</summary>
    private static readonly TimeSpan SettleLimit = TimeSpan.FromMilliseconds(500);

    private async Task HandOverPostedJobsAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await handOvers.Reader.WaitToReadAsync(stoppingToken))
            {
                await SettleAsync(stoppingToken);
                while (handOvers.Reader.TryRead(out var job))
                    await HandOverPostedAsync(job);
            }
        }
        catch (OperationCanceledException)
        {
        }
        // Stopping: what was posted is handed over now rather than a sweep interval after the restart.
        handOvers.Writer.TryComplete();
        while (handOvers.Reader.TryRead(out var job))
            await HandOverPostedAsync(job);
    }

    /// <summary>
    /// Waits while submissions keep arriving — a burst of them — for at most <see cref="SettleLimit"/>:
    /// answering them comes first, and an enqueue (half a dozen statements through Hangfire) costs the
    /// CPU and the database more than storing the job did, so doing it in the middle of a burst slows
    /// every request still in it. A lone submission waits <see cref="SettleQuiet"/>.
    /// </summary>
    private async Task SettleAsync(CancellationToken stoppingToken)
    {
        var started = time.GetTimestamp();
        var posted = PendingHandOvers;
        while (time.GetElapsedTime(started) < SettleLimit)
        {
            await Task.Delay(SettleQuiet, time, stoppingToken);
            var now = PendingHandOvers;
            if (now == posted)
                return;
            posted = now;
        }
    }

    private async Task HandOverPostedAsync(JobRecord job)
    {
        await HandOverAsync(job, CancellationToken.None);
        Interlocked.Decrement(ref pendingHandOvers);
    }

    private async Task SweepPeriodicallyAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.DispatchSweepInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
                await FailUnservedAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Looking for jobs that were never enqueued failed; trying again in {Interval}", interval);
            }
            Interlocked.Increment(ref completedSweeps);
            try { await Task.Delay(interval, time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}

public static class JobOutboxRegistration
{
    /// <summary>The outbox that submissions hand their jobs to, and its sweep as a hosted service.</summary>
    public static IServiceCollection AddJobOutbox(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<JobsApiOptions>().Bind(configuration.GetSection(JobsApiOptions.SectionName))
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        services.AddSingleton<JobOutbox>();
        services.AddHostedService(provider => provider.GetRequiredService<JobOutbox>());
        // One poller per watched job, shared by its streams and its long polls (jobs' and sweeps').
        services.AddSingleton(provider => new JobWatchHub(provider,
            provider.GetRequiredService<IOptions<JobsApiOptions>>().Value.StreamPollInterval, provider.GetRequiredService<ILogger<JobWatchHub>>()));
        return services;
    }
}
