using Microsoft.Extensions.DependencyInjection;
using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Tests.Infrastructure;

/// <summary>
/// Wraps the real store to count the reads the API makes, and to fail on demand, for tests about
/// load (one poller per job) and about server errors.
/// </summary>
public sealed class CountingJobStore(IJobStore inner) : IJobStore
{
    private int getEpochsCalls;
    private int getCalls;

    public int GetEpochsCalls => Volatile.Read(ref getEpochsCalls);

    public int GetCalls => Volatile.Read(ref getCalls);

    /// <summary>When set, listing jobs throws, as a broken database would.</summary>
    public bool FailListing { get; set; }

    /// <summary>Replaces the composition's store registration with one wrapped in a counting store.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(IJobStore));
        services.Remove(original);
        services.AddSingleton<IJobStore>(sp => new CountingJobStore(original.ImplementationInstance as IJobStore
            ?? (IJobStore?)original.ImplementationFactory?.Invoke(sp)
            ?? (IJobStore)ActivatorUtilities.CreateInstance(sp, original.ImplementationType!)));
    }

    public Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

    public Task<(JobRecord Job, bool Created)> CreateAsync(JobRecord job, CancellationToken cancellationToken) => inner.CreateAsync(job, cancellationToken);

    public Task<JobRecord?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref getCalls);
        return inner.GetAsync(id, cancellationToken);
    }

    public Task<IReadOnlyList<JobRecord>> ListAsync(JobQuery query, CancellationToken cancellationToken) =>
        FailListing
            ? throw new InvalidOperationException("Simulated database failure at /var/lib/secret/db.sock")
            : inner.ListAsync(query, cancellationToken);

    public Task<IReadOnlyDictionary<JobStatus, long>> CountByStatusAsync(CancellationToken cancellationToken) =>
        inner.CountByStatusAsync(cancellationToken);

    public Task<JobRecord?> TryStartAttemptAsync(Guid id, Guid leaseToken, string worker, string device, DateTimeOffset now, DateTimeOffset staleBefore, CancellationToken cancellationToken) =>
        inner.TryStartAttemptAsync(id, leaseToken, worker, device, now, staleBefore, cancellationToken);

    public Task<bool> UpdateProgressAsync(Guid id, Guid leaseToken, JobProgress progress, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.UpdateProgressAsync(id, leaseToken, progress, now, cancellationToken);

    public Task<bool> HeartbeatAsync(Guid id, Guid leaseToken, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.HeartbeatAsync(id, leaseToken, now, cancellationToken);

    public Task<bool> RecordEpochAsync(Guid id, Guid leaseToken, EpochMetrics metrics, DateTimeOffset recordedAt, CancellationToken cancellationToken) =>
        inner.RecordEpochAsync(id, leaseToken, metrics, recordedAt, cancellationToken);

    public Task<bool> RecordCheckpointAsync(Guid id, Guid leaseToken, CheckpointRecord checkpoint, CancellationToken cancellationToken) =>
        inner.RecordCheckpointAsync(id, leaseToken, checkpoint, cancellationToken);

    public Task<bool> FinishAttemptAsync(Guid id, Guid leaseToken, JobStatus status, JobResult? result, JobError? error, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.FinishAttemptAsync(id, leaseToken, status, result, error, now, cancellationToken);

    public Task<bool> FailUnstartedAsync(Guid id, JobError error, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.FailUnstartedAsync(id, error, now, cancellationToken);

    public Task MarkDispatchedAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.MarkDispatchedAsync(id, now, cancellationToken);

    public Task<IReadOnlyList<JobRecord>> ListUndispatchedAsync(DateTimeOffset createdBefore, int limit, CancellationToken cancellationToken) =>
        inner.ListUndispatchedAsync(createdBefore, limit, cancellationToken);

    public Task CreateSweepAsync(SweepRecord sweep, CancellationToken cancellationToken) => inner.CreateSweepAsync(sweep, cancellationToken);

    public Task<SweepRecord?> GetSweepAsync(Guid id, CancellationToken cancellationToken) => inner.GetSweepAsync(id, cancellationToken);

    public Task<IReadOnlyList<SweepRecord>> ListSweepsAsync(SweepQuery query, CancellationToken cancellationToken) => inner.ListSweepsAsync(query, cancellationToken);

    public Task<IReadOnlyList<SweepRecord>> ListOpenSweepsAsync(CancellationToken cancellationToken) => inner.ListOpenSweepsAsync(cancellationToken);

    public Task<bool> AddSweepJobAsync(Guid sweepId, int point, Guid jobId, CancellationToken cancellationToken) =>
        inner.AddSweepJobAsync(sweepId, point, jobId, cancellationToken);

    public Task<IReadOnlyList<SweepJob>> GetSweepJobsAsync(Guid sweepId, CancellationToken cancellationToken) =>
        inner.GetSweepJobsAsync(sweepId, cancellationToken);

    public Task<bool> RequestSweepCancelAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.RequestSweepCancelAsync(id, now, cancellationToken);

    public Task<CancelOutcome> RequestCancelAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.RequestCancelAsync(id, now, cancellationToken);

    public Task<IReadOnlyList<EpochRecord>> GetEpochsAsync(Guid id, int sinceEpoch, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref getEpochsCalls);
        return inner.GetEpochsAsync(id, sinceEpoch, cancellationToken);
    }

    public Task<IReadOnlyList<CheckpointRecord>> GetCheckpointsAsync(Guid id, CancellationToken cancellationToken) =>
        inner.GetCheckpointsAsync(id, cancellationToken);

    public Task AppendLogsAsync(IReadOnlyList<JobLogRecord> logs, CancellationToken cancellationToken) =>
        inner.AppendLogsAsync(logs, cancellationToken);

    public Task<IReadOnlyList<JobLogRecord>> GetLogsAsync(Guid id, long afterSequence, int limit, CancellationToken cancellationToken) =>
        inner.GetLogsAsync(id, afterSequence, limit, cancellationToken);

    public Task UpsertWorkerAsync(WorkerRecord worker, CancellationToken cancellationToken) => inner.UpsertWorkerAsync(worker, cancellationToken);

    public Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(DateTimeOffset aliveSince, CancellationToken cancellationToken) =>
        inner.ListWorkersAsync(aliveSince, cancellationToken);

    public Task RemoveWorkerAsync(string id, CancellationToken cancellationToken) => inner.RemoveWorkerAsync(id, cancellationToken);

    public Task<bool> PingAsync(CancellationToken cancellationToken) => inner.PingAsync(cancellationToken);
}
