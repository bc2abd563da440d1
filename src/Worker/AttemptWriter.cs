using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using TrainingService.Contracts;
using TrainingService.Worker.Hosting;

namespace TrainingService.Worker;

/// <summary>
/// Carries one attempt's writes to the store on a background task, in order, retrying through
/// database outages: the training thread never waits on the database, and no epoch record is
/// dropped because the database was away for a while. Progress is coalesced (only the latest
/// matters) and written with the heartbeat. A write refused for a stale lease means another
/// attempt owns the job: <see cref="LeaseLost"/> fires and this attempt must stop.
/// </summary>
internal sealed class AttemptWriter : IAsyncDisposable
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly IJobStore store;
    private readonly Guid jobId;
    private readonly Guid leaseToken;
    private readonly WorkerOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly Channel<Func<CancellationToken, Task<bool>>> writes =
        Channel.CreateUnbounded<Func<CancellationToken, Task<bool>>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource leaseLost = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Task writeLoop;
    private readonly Task heartbeatLoop;
    private JobProgress? pendingProgress;
    private JobProgress? lastProgress;

    public AttemptWriter(IJobStore store, Guid jobId, Guid leaseToken, WorkerOptions options, TimeProvider time, ILogger logger)
    {
        (this.store, this.jobId, this.leaseToken, this.options, this.time, this.logger) = (store, jobId, leaseToken, options, time, logger);
        writeLoop = Task.Run(WriteLoopAsync);
        heartbeatLoop = Task.Run(HeartbeatLoopAsync);
    }

    public Guid JobId => jobId;

    public Guid LeaseToken => leaseToken;

    /// <summary>Cancelled when the store refused a write because this attempt no longer holds the lease.</summary>
    public CancellationToken LeaseLost => leaseLost.Token;

    /// <summary>Queues a lease-fenced write (given the job's id and this attempt's lease); it returns false when the lease was refused.</summary>
    public void Enqueue(Func<Guid, Guid, CancellationToken, Task<bool>> write) =>
        writes.Writer.TryWrite(ct => write(jobId, leaseToken, ct));

    public void ReportProgress(JobProgress progress)
    {
        Volatile.Write(ref lastProgress, progress);
        Volatile.Write(ref pendingProgress, progress);
    }

    /// <summary>
    /// Where the attempt stopped, exactly (progress reports come about a second apart): what its
    /// attempt record says it reached, once <see cref="DrainAsync"/> has written it.
    /// </summary>
    public void ReportStoppedAt(int epoch, long step, DateTimeOffset now)
    {
        if (Volatile.Read(ref lastProgress) is { } last)
            ReportProgress(last with { Epoch = epoch, Step = step, UpdatedAt = now });
    }

    /// <summary>Waits until every queued write, and the latest progress, has reached the store (or the lease was lost).</summary>
    public async Task DrainAsync()
    {
        writes.Writer.TryComplete();
        await writeLoop;
        if (!leaseLost.IsCancellationRequested && Interlocked.Exchange(ref pendingProgress, null) is { } progress
            && !await WithRetryAsync(ct => store.UpdateProgressAsync(jobId, leaseToken, progress, time.GetUtcNow(), ct), "progress"))
            LoseLease();
    }

    private async Task WriteLoopAsync()
    {
        await foreach (var write in writes.Reader.ReadAllAsync())
        {
            if (leaseLost.IsCancellationRequested) continue;
            if (!await WithRetryAsync(write, "record"))
                LoseLease();
        }
    }

    private async Task HeartbeatLoopAsync()
    {
        while (!stopping.IsCancellationRequested && !leaseLost.IsCancellationRequested)
        {
            try { await Task.Delay(options.HeartbeatInterval, time, stopping.Token); }
            catch (OperationCanceledException) { return; }

            var progress = Interlocked.Exchange(ref pendingProgress, null);
            var accepted = await WithRetryAsync(ct => progress is null
                ? store.HeartbeatAsync(jobId, leaseToken, time.GetUtcNow(), ct)
                : store.UpdateProgressAsync(jobId, leaseToken, progress, time.GetUtcNow(), ct), "heartbeat");
            if (!accepted && !stopping.IsCancellationRequested) LoseLease();
        }
    }

    /// <summary>Retries a write until it succeeds or the attempt stops; an outage only delays it.</summary>
    private async Task<bool> WithRetryAsync(Func<CancellationToken, Task<bool>> write, string what)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        for (var tries = 1; ; tries++)
        {
            try
            {
                return await write(CancellationToken.None);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Once the attempt is over nothing waits for these writes any more; epoch records
                // left unwritten are re-recorded from the checkpoints when the job is next taken up.
                if (stopping.IsCancellationRequested) return true;
                logger.LogWarning(e, "Writing the {What} of job {JobId} failed (try {Tries}); retrying in {Delay}", what, jobId, tries, delay);
                await Task.Delay(delay, time);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    private void LoseLease()
    {
        if (leaseLost.IsCancellationRequested) return;
        logger.LogWarning("Job {JobId}: the store refused a write for lease {LeaseToken}; another attempt owns the job, so this one stops", jobId, leaseToken);
        leaseLost.Cancel();
    }

    public async ValueTask DisposeAsync()
    {
        writes.Writer.TryComplete();
        stopping.Cancel();
        await Task.WhenAll(writeLoop, heartbeatLoop).ConfigureAwait(false);
        stopping.Dispose();
        leaseLost.Dispose();
    }
}
