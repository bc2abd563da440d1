using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Storage;

/// <summary><see cref="ICheckpointIndex"/> in SQL, on either engine: table <c>job_checkpoints</c>.</summary>
public sealed class SqlCheckpointIndex(JobDatabase database) : ICheckpointIndex
{
    private const string Columns = "job_id, epoch, size_bytes, sha256, metrics, created_at";

    public async Task<bool> RecordCheckpointAsync(Guid id, Guid leaseToken, CheckpointRecord checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (checkpoint.JobId != id)
            throw new ArgumentException($"The checkpoint is job {checkpoint.JobId}'s, not job {id}'s.", nameof(checkpoint));
        // Fenced like a job write: inserted only while the lease is current (see JobDatabase.ShareLockClause).
        var sql = $"""
            INSERT INTO job_checkpoints ({Columns})
            SELECT @Id, @Epoch, @SizeBytes, @Sha256, {database.Json("@Metrics")}, @CreatedAt
            WHERE EXISTS (SELECT 1 FROM jobs WHERE id = @Id AND lease_token = @LeaseToken{database.ShareLockClause})
            ON CONFLICT (job_id, epoch) DO UPDATE
            SET size_bytes = excluded.size_bytes, sha256 = excluded.sha256, metrics = excluded.metrics,
                created_at = excluded.created_at
            """;
        return await database.ExecuteAsync(sql, new
        {
            Id = database.Id(id),
            LeaseToken = database.Id(leaseToken),
            checkpoint.Epoch,
            checkpoint.SizeBytes,
            checkpoint.Sha256,
            Metrics = JobStoreJson.SerializeOrNull(checkpoint.Metrics),
            CreatedAt = database.Time(checkpoint.CreatedAt),
        }, cancellationToken) > 0;
    }

    public async Task<IReadOnlyList<CheckpointRecord>> GetCheckpointsAsync(Guid id, CancellationToken cancellationToken)
    {
        var rows = await database.QueryAsync<CheckpointRow>(
            $"SELECT {Columns} FROM job_checkpoints WHERE job_id = @Id ORDER BY epoch", new { Id = database.Id(id) }, cancellationToken);
        return [.. rows.Select(row => row.ToRecord())];
    }
}

/// <summary>A row of <c>job_checkpoints</c>: the metrics as their JSON text.</summary>
internal sealed class CheckpointRow
{
    public Guid JobId { get; init; }
    public int Epoch { get; init; }
    public long SizeBytes { get; init; }
    public required string Sha256 { get; init; }
    public string? Metrics { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    public CheckpointRecord ToRecord() =>
        new(JobId, Epoch, SizeBytes, Sha256, JobStoreJson.DeserializeOrNull<EpochMetrics>(Metrics), CreatedAt);
}
