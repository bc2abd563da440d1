namespace TrainingService.Contracts;

/// <summary>
/// The records of the checkpoints each job wrote, keyed by (job, epoch): size, hash and metrics.
/// The files themselves are on the checkpoint volume; this index is what the API lists without
/// reading it.
/// </summary>
public interface ICheckpointIndex
{
    /// <summary>
    /// Records (or replaces) a checkpoint's record. False when <paramref name="leaseToken"/> is no
    /// longer the job's current lease (see <see cref="IJobStore"/>).
    /// </summary>
    Task<bool> RecordCheckpointAsync(Guid id, Guid leaseToken, CheckpointRecord checkpoint, CancellationToken cancellationToken);

    /// <summary>The job's checkpoint records, by epoch.</summary>
    Task<IReadOnlyList<CheckpointRecord>> GetCheckpointsAsync(Guid id, CancellationToken cancellationToken);
}
