using TrainingService.Contracts.Training;

namespace TrainingService.Contracts;

/// <summary>
/// Each job's per-epoch metrics, keyed by (job, epoch): what the metrics endpoints, streams and
/// plots read, and the record of which attempt trained each epoch, with how many steps.
/// </summary>
public interface IEpochStore
{
    /// <summary>
    /// Records an epoch's metrics and who trained it, once: an epoch is never recorded twice. While
    /// <paramref name="leaseToken"/> is the job's current lease (else <see cref="EpochWrite.LeaseLost"/>),
    /// a first write is <see cref="EpochWrite.Recorded"/>; the same write again (a retry after a lost
    /// acknowledgement, or the record re-made from the epoch's checkpoint by the next attempt) is
    /// <see cref="EpochWrite.AlreadyRecorded"/> and changes nothing; a write with other
    /// <paramref name="training"/> — another attempt trained the epoch again — is kept beside the
    /// record as a <see cref="EpochWrite.Conflict"/> (once per attempt) and the first record stands.
    /// </summary>
    /// <param name="id">The job.</param>
    /// <param name="leaseToken">The writing attempt's lease.</param>
    /// <param name="metrics">The epoch's metrics (its number among them).</param>
    /// <param name="recordedAt">When the epoch ended (its checkpoint's time).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <param name="training">
    /// Null only for an epoch re-recorded from a checkpoint written before attempts were recorded:
    /// recorded if missing, and never a conflict.
    /// </param>
    Task<EpochWrite> RecordEpochAsync(
        Guid id, Guid leaseToken, EpochMetrics metrics, EpochTraining? training, DateTimeOffset recordedAt, CancellationToken cancellationToken);

    /// <summary>The epochs recorded after <paramref name="sinceEpoch"/> (0 for all), by epoch, each with its conflicts.</summary>
    Task<IReadOnlyList<EpochRecord>> GetEpochsAsync(Guid id, int sinceEpoch, CancellationToken cancellationToken);

    /// <summary>
    /// At most <paramref name="limit"/> of the epochs recorded after <paramref name="sinceEpoch"/>, by epoch: a page of
    /// a history too long to read (or answer) in one piece. The next page starts after the last epoch returned.
    /// </summary>
    Task<IReadOnlyList<EpochRecord>> GetEpochPageAsync(Guid id, int sinceEpoch, int limit, CancellationToken cancellationToken);
}
