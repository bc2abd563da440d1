using TrainingService.Contracts.Training;

namespace TrainingService.Contracts;

/// <summary>Each job's per-epoch metrics, keyed by (job, epoch): what the metrics endpoints, streams and plots read.</summary>
public interface IEpochStore
{
    /// <summary>
    /// Records (or, for a re-run epoch, replaces) an epoch's metrics. False when
    /// <paramref name="leaseToken"/> is no longer the job's current lease (see <see cref="IJobStore"/>).
    /// </summary>
    Task<bool> RecordEpochAsync(Guid id, Guid leaseToken, EpochMetrics metrics, DateTimeOffset recordedAt, CancellationToken cancellationToken);

    /// <summary>The epochs recorded after <paramref name="sinceEpoch"/> (0 for all), by epoch.</summary>
    Task<IReadOnlyList<EpochRecord>> GetEpochsAsync(Guid id, int sinceEpoch, CancellationToken cancellationToken);

    /// <summary>
    /// At most <paramref name="limit"/> of the epochs recorded after <paramref name="sinceEpoch"/>, by epoch: a page of
    /// a history too long to read (or answer) in one piece. The next page starts after the last epoch returned.
    /// </summary>
    Task<IReadOnlyList<EpochRecord>> GetEpochPageAsync(Guid id, int sinceEpoch, int limit, CancellationToken cancellationToken);
}
