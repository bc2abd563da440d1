using TrainingService.Contracts;

namespace TrainingService.Api.Jobs;

/// <summary>What a watched job looked like at one poll: the job and every epoch recorded so far.</summary>
/// <param name="Version">Increases whenever something a stream reports changed.</param>
/// <param name="Job">The job, or null if it has disappeared from the store.</param>
/// <param name="Epochs">Every epoch record seen, ascending by epoch.</param>
public sealed record JobSnapshot(long Version, JobRecord? Job, IReadOnlyList<EpochRecord> Epochs);

/// <summary>
/// One poller per watched job, shared by every open stream of that job. A hundred dashboards
/// following one run cost the database what one does: the first subscriber starts a loop that
/// reads the job and its new epochs every poll interval; each stream waits for the next
/// snapshot and works out for itself what it has not sent yet; the last subscriber to leave stops
/// the loop. Streams keep no queue here, so a slow client only ever skips to the newest state.
/// </summary>
public sealed class JobWatchHub(IServiceProvider services, TimeSpan pollInterval, ILogger<JobWatchHub> logger)
{
    private readonly Dictionary<Guid, Watch> watches = [];
    private readonly Lock gate = new();

    // Resolved when a poll needs them, not when the endpoints are mapped: mapping must not force
    // the store into existence (or fail on it) before the application has started.
    private IJobStore Store => services.GetRequiredService<IJobStore>();

    private IEpochStore Epochs => services.GetRequiredService<IEpochStore>();

    private TimeProvider Time => services.GetService<TimeProvider>() ?? TimeProvider.System;

    /// <summary>Starts watching <paramref name="jobId"/> (or joins the watch already running). Dispose to leave.</summary>
    public Subscription Subscribe(Guid jobId)
    {
        lock (gate)
        {
            if (!watches.TryGetValue(jobId, out var watch))
            {
                watch = new Watch(jobId, this);
                watches[jobId] = watch;
                watch.Start();
            }
            watch.Subscribers++;
            return new Subscription(this, watch);
        }
    }

    private void Leave(Watch watch)
    {
        lock (gate)
        {
            if (--watch.Subscribers > 0)
                return;
            watches.Remove(watch.JobId);
        }
        watch.Stop();
    }

    /// <summary>One stream's membership of a watch.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly JobWatchHub hub;
        private readonly Watch watch;
        private int disposed;

        internal Subscription(JobWatchHub hub, Watch watch)
        {
            this.hub = hub;
            this.watch = watch;
        }

        /// <summary>The latest snapshot, if a poll has completed yet.</summary>
        public JobSnapshot? Current => watch.Current;

        /// <summary>
        /// The first snapshot newer than <paramref name="afterVersion"/>; null if none came within
        /// <paramref name="timeout"/> (time for a keep-alive).
        /// </summary>
        public Task<JobSnapshot?> WaitAsync(long afterVersion, TimeSpan timeout, CancellationToken cancellationToken) =>
            watch.WaitAsync(afterVersion, timeout, cancellationToken);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
                hub.Leave(watch);
        }
    }

    internal sealed class Watch(Guid jobId, JobWatchHub hub)
    {
        private readonly CancellationTokenSource stopping = new();
        private TaskCompletionSource changed = NewSignal();
        private JobSnapshot? current;

        public Guid JobId { get; } = jobId;

        /// <summary>Guarded by the hub's lock.</summary>
        public int Subscribers { get; set; }

        public JobSnapshot? Current => Volatile.Read(ref current);

        public void Start() => _ = Task.Run(() => PollAsync(stopping.Token));

        public void Stop() => stopping.Cancel();

        public async Task<JobSnapshot?> WaitAsync(long afterVersion, TimeSpan timeout, CancellationToken cancellationToken)
        {
            // Read the signal before the snapshot: a publish in between completes this very
            // signal, so no change can slip past unnoticed.
            var signal = Volatile.Read(ref changed);
            var snapshot = Current;
            if (snapshot is not null && snapshot.Version > afterVersion)
                return snapshot;
            try
            {
                await signal.Task.WaitAsync(timeout, hub.Time, cancellationToken);
            }
            catch (TimeoutException)
            {
                return null;
            }
            snapshot = Current;
            return snapshot is not null && snapshot.Version > afterVersion ? snapshot : null;
        }

        private void Publish(JobSnapshot snapshot)
        {
            Volatile.Write(ref current, snapshot);
            Interlocked.Exchange(ref changed, NewSignal()).TrySetResult();
        }

        private async Task PollAsync(CancellationToken cancellationToken)
        {
            var epochs = new SortedDictionary<int, EpochRecord>();
            JobRecord? lastJob = null;
            long version = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    // The job first, then its epochs: a job read as finished had recorded all its
                    // epochs before it finished, so the epochs read next include the last one.
                    var job = await hub.Store.GetAsync(JobId, cancellationToken);
                    var changedEpochs = false;
                    if (job is not null)
                    {
                        foreach (var record in await hub.Epochs.GetEpochsAsync(JobId, ReadFrom(job, epochs), cancellationToken))
                        {
                            if (epochs.TryGetValue(record.Metrics.Epoch, out var seen) && seen == record)
                                continue;
                            epochs[record.Metrics.Epoch] = record;
                            changedEpochs = true;
                        }
                    }
                    if (version == 0 || changedEpochs || HasVisiblyChanged(lastJob, job))
                        Publish(new JobSnapshot(++version, job, [.. epochs.Values]));
                    lastJob = job;
                    // A finished job changes no more; the last snapshot stays for late joiners.
                    if (job is null || job.Status.IsTerminal())
                        return;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    // A database hiccup must not end the streams: they keep their keep-alives
                    // going and catch up at the next successful poll.
                    hub.Logger.LogWarning(e, "Polling job {JobId} for its streams failed; retrying.", JobId);
                }

                try
                {
                    await Task.Delay(hub.PollInterval, hub.Time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        /// <summary>
        /// The epoch after which to read. Normally the last one seen; but the epochs from the one
        /// being trained are read again: an attempt that trained one of them twice adds a conflict
        /// to its record (see <see cref="EpochRecord.Conflicts"/>).
        /// </summary>
        private static int ReadFrom(JobRecord job, SortedDictionary<int, EpochRecord> epochs)
        {
            if (epochs.Count == 0)
                return 0;
            var lastSeen = epochs.Keys.Max();
            return job.Progress is { } progress ? Math.Clamp(progress.Epoch - 1, 0, lastSeen) : lastSeen;
        }

        /// <summary>Changes a stream reports (status, progress); a heartbeat alone is not one.</summary>
        private static bool HasVisiblyChanged(JobRecord? before, JobRecord? after) =>
            before is null || after is null
            || before.Status != after.Status
            || before.Progress != after.Progress
            || before.Attempt != after.Attempt
            || before.FinishedAt != after.FinishedAt;

        private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private TimeSpan PollInterval => pollInterval;

    private ILogger Logger => logger;
}
