using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Storage;

/// <summary><see cref="IEpochStore"/> in SQL, on either engine: table <c>job_epochs</c>.</summary>
public sealed class SqlEpochStore(JobDatabase database) : IEpochStore
{
    private const string Columns =
        "job_id, epoch, train_loss, train_accuracy, test_loss, test_accuracy, learning_rate, epoch_seconds, samples_per_second, recorded_at";

    public async Task<bool> RecordEpochAsync(Guid id, Guid leaseToken, EpochMetrics metrics, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        // Fenced like a job write: inserted only while the lease is current (see JobDatabase.ShareLockClause).
        // SQLite needs the WHERE on the SELECT to parse ON CONFLICT as the upsert clause; it is there.
        var sql = $"""
            INSERT INTO job_epochs ({Columns})
            SELECT @Id, @Epoch, @TrainLoss, @TrainAccuracy, @TestLoss, @TestAccuracy, @LearningRate, @EpochSeconds,
                   @SamplesPerSecond, @RecordedAt
            WHERE EXISTS (SELECT 1 FROM jobs WHERE id = @Id AND lease_token = @LeaseToken{database.ShareLockClause})
            ON CONFLICT (job_id, epoch) DO UPDATE
            SET train_loss = excluded.train_loss, train_accuracy = excluded.train_accuracy, test_loss = excluded.test_loss,
                test_accuracy = excluded.test_accuracy, learning_rate = excluded.learning_rate,
                epoch_seconds = excluded.epoch_seconds, samples_per_second = excluded.samples_per_second,
                recorded_at = excluded.recorded_at
            """;
        return await database.ExecuteAsync(sql, new
        {
            Id = database.Id(id),
            LeaseToken = database.Id(leaseToken),
            metrics.Epoch,
            TrainLoss = database.Metric(metrics.TrainLoss),
            TrainAccuracy = database.Metric(metrics.TrainAccuracy),
            TestLoss = database.Metric(metrics.TestLoss),
            TestAccuracy = database.Metric(metrics.TestAccuracy),
            LearningRate = database.Metric(metrics.LearningRate),
            EpochSeconds = database.Metric(metrics.EpochSeconds),
            SamplesPerSecond = database.Metric(metrics.SamplesPerSecond),
            RecordedAt = database.Time(recordedAt),
        }, cancellationToken) > 0;
    }

    public async Task<IReadOnlyList<EpochRecord>> GetEpochsAsync(Guid id, int sinceEpoch, CancellationToken cancellationToken)
    {
        var rows = await database.QueryAsync<EpochRow>(
            $"SELECT {Columns} FROM job_epochs WHERE job_id = @Id AND epoch > @Since ORDER BY epoch",
            new { Id = database.Id(id), Since = sinceEpoch }, cancellationToken);
        return [.. rows.Select(row => row.ToRecord())];
    }

    public async Task<IReadOnlyList<EpochRecord>> GetEpochPageAsync(Guid id, int sinceEpoch, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        // The primary key (job_id, epoch) serves this as a range scan that stops after the limit.
        var rows = await database.QueryAsync<EpochRow>(
            $"SELECT {Columns} FROM job_epochs WHERE job_id = @Id AND epoch > @Since ORDER BY epoch LIMIT @Limit",
            new { Id = database.Id(id), Since = sinceEpoch, Limit = limit }, cancellationToken);
        return [.. rows.Select(row => row.ToRecord())];
    }
}

/// <summary>A row of <c>job_epochs</c>. A metric reads back null where SQLite kept a NaN (see <see cref="JobDatabase.Metric"/>).</summary>
internal sealed class EpochRow
{
    public Guid JobId { get; init; }
    public int Epoch { get; init; }
    public double? TrainLoss { get; init; }
    public double? TrainAccuracy { get; init; }
    public double? TestLoss { get; init; }
    public double? TestAccuracy { get; init; }
    public double? LearningRate { get; init; }
    public double? EpochSeconds { get; init; }
    public double? SamplesPerSecond { get; init; }
    public DateTimeOffset RecordedAt { get; init; }

    public EpochRecord ToRecord() => new(
        JobId,
        new EpochMetrics(
            Epoch,
            TrainLoss ?? double.NaN,
            TrainAccuracy ?? double.NaN,
            TestLoss ?? double.NaN,
            TestAccuracy ?? double.NaN,
            LearningRate ?? double.NaN,
            EpochSeconds ?? double.NaN,
            SamplesPerSecond ?? double.NaN),
        RecordedAt);
}
