using Microsoft.Extensions.DependencyInjection;
using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Tests.Infrastructure;

/// <summary>
/// Wraps the real job store to count the job reads the API makes, and to fail on demand, for tests
/// about load and about server errors. Its sibling for epochs is <see cref="CountingEpochStore"/>.
/// </summary>
public sealed class CountingJobStore(IJobStore inner) : IJobStore
{
    private int getCalls;

    public int GetCalls => Volatile.Read(ref getCalls);

    /// <summary>When set, listing jobs throws, as a broken database would.</summary>
    public bool FailListing { get; set; }

    /// <summary>Replaces the composition's job store with one wrapped in a counting store.</summary>
    public static void Decorate(IServiceCollection services) => StoreDecorator.Decorate<IJobStore>(services, inner => new CountingJobStore(inner));

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

    public Task<bool> FinishAttemptAsync(Guid id, Guid leaseToken, JobStatus status, TerminationReason reason, JobResult? result, JobError? error, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.FinishAttemptAsync(id, leaseToken, status, reason, result, error, now, cancellationToken);

    public Task<bool> FailUnstartedAsync(Guid id, JobError error, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.FailUnstartedAsync(id, error, now, cancellationToken);

    public Task MarkDispatchedAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.MarkDispatchedAsync(id, now, cancellationToken);

    public Task<IReadOnlyList<JobRecord>> ListUndispatchedAsync(DateTimeOffset createdBefore, int limit, CancellationToken cancellationToken) =>
        inner.ListUndispatchedAsync(createdBefore, limit, cancellationToken);

    public Task<CancelOutcome> RequestCancelAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.RequestCancelAsync(id, now, cancellationToken);

    public Task<CancelOutcome> RequestCancelAsync(Guid id, TerminationReason reason, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.RequestCancelAsync(id, reason, now, cancellationToken);

    public Task<int> CountUnfinishedJobsAsync(string owner, CancellationToken cancellationToken) =>
        inner.CountUnfinishedJobsAsync(owner, cancellationToken);

    public Task<bool> IdempotencyKeyUsedAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        inner.IdempotencyKeyUsedAsync(idempotencyKey, cancellationToken);
}

/// <summary>Wraps the real epoch store to count the epoch reads the API makes (one poller per job, not per stream).</summary>
public sealed class CountingEpochStore(IEpochStore inner) : IEpochStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, int> reads = new();

    /// <summary>Reads of this job's epochs: counted per job, since other parts of the API (the sweep scheduler) read other jobs' epochs.</summary>
    public int ReadsOf(Guid id) => reads.GetValueOrDefault(id);

    /// <summary>Replaces the composition's epoch store with one wrapped in a counting store.</summary>
    public static void Decorate(IServiceCollection services) => StoreDecorator.Decorate<IEpochStore>(services, inner => new CountingEpochStore(inner));

    public Task<EpochWrite> RecordEpochAsync(Guid id, Guid leaseToken, EpochMetrics metrics, EpochTraining? training, DateTimeOffset recordedAt, CancellationToken cancellationToken) =>
        inner.RecordEpochAsync(id, leaseToken, metrics, training, recordedAt, cancellationToken);

    public Task<IReadOnlyList<EpochRecord>> GetEpochsAsync(Guid id, int sinceEpoch, CancellationToken cancellationToken)
    {
        reads.AddOrUpdate(id, 1, (_, n) => n + 1);
        return inner.GetEpochsAsync(id, sinceEpoch, cancellationToken);
    }

    public Task<IReadOnlyList<EpochRecord>> GetEpochPageAsync(Guid id, int sinceEpoch, int limit, CancellationToken cancellationToken)
    {
        reads.AddOrUpdate(id, 1, (_, n) => n + 1);
        return inner.GetEpochPageAsync(id, sinceEpoch, limit, cancellationToken);
    }
}

/// <summary>Swaps a store's registration for a decorator around what it registered.</summary>
internal static class StoreDecorator
{
    public static void Decorate<TStore>(IServiceCollection services, Func<TStore, TStore> decorate) where TStore : class
    {
        var original = services.Last(d => d.ServiceType == typeof(TStore));
        services.Remove(original);
        services.AddSingleton(sp => decorate(original.ImplementationInstance as TStore
            ?? (TStore?)original.ImplementationFactory?.Invoke(sp)
            ?? (TStore)ActivatorUtilities.CreateInstance(sp, original.ImplementationType!)));
    }
}
