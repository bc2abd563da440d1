using System.Data.Common;
using Dapper;
using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Storage;

/// <summary>
/// <see cref="IEpochStore"/> in SQL, on either engine: table <c>job_epochs</c>, one row per epoch
/// that is written once, and <c>job_epoch_conflicts</c>, the writes of an epoch already recorded
/// by another attempt.
/// </summary>
/// <remarks>
/// An epoch's record is never replaced. A plain upsert would let a second attempt that trained the
/// epoch again overwrite the first's record without a trace, and "each epoch recorded once" could
/// then never fail; instead the second write is kept as a conflict, where the tests (and an
/// operator, through the metrics) see it. The same write again is harmless: the worker retries a
/// write whose acknowledgement it lost, and the next attempt re-makes the records of epochs
/// checkpointed by the last one from their manifests, which name the attempt that trained them.
/// </remarks>
public sealed class SqlEpochStore(JobDatabase database) : IEpochStore
{
    private const string MetricColumns =
        "epoch, train_loss, train_accuracy, test_loss, test_accuracy, learning_rate, epoch_seconds, samples_per_second";

    private const string TrainingColumns = "attempt, resumed_from_step, steps_run, earlier_attempts";

    public async Task<EpochWrite> RecordEpochAsync(
        Guid id, Guid leaseToken, EpochMetrics metrics, EpochTraining? training, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken);
        var key = new { Id = database.Id(id), metrics.Epoch };

        // Fenced like a job write: only while the lease is current, and (PostgreSQL: FOR SHARE) no
        // new attempt can take the job until this commits (see JobDatabase.ShareLockClause).
        var leaseHeld = await connection.ExecuteScalarAsync<int?>(JobDatabase.Command(
            $"SELECT 1 FROM jobs WHERE id = @Id AND lease_token = @LeaseToken{database.ShareLockClause}",
            new { key.Id, LeaseToken = database.Id(leaseToken) }, transaction, cancellationToken));
        if (leaseHeld is null)
            return EpochWrite.LeaseLost;

        var inserted = await connection.ExecuteAsync(JobDatabase.Command($"""
            INSERT INTO job_epochs (job_id, {MetricColumns}, recorded_at, {TrainingColumns})
            VALUES (@Id, @Epoch, @TrainLoss, @TrainAccuracy, @TestLoss, @TestAccuracy, @LearningRate, @EpochSeconds,
                    @SamplesPerSecond, @RecordedAt, @Attempt, @ResumedFromStep, @StepsRun, {database.Json("@EarlierAttempts")})
            ON CONFLICT (job_id, epoch) DO NOTHING
            """, new
        {
            key.Id,
            metrics.Epoch,
            TrainLoss = database.Metric(metrics.TrainLoss),
            TrainAccuracy = database.Metric(metrics.TrainAccuracy),
            TestLoss = database.Metric(metrics.TestLoss),
            TestAccuracy = database.Metric(metrics.TestAccuracy),
            LearningRate = database.Metric(metrics.LearningRate),
            EpochSeconds = database.Metric(metrics.EpochSeconds),
            SamplesPerSecond = database.Metric(metrics.SamplesPerSecond),
            RecordedAt = database.Time(recordedAt),
            Attempt = training?.Attempt,
            ResumedFromStep = training?.ResumedFromStep,
            StepsRun = training?.StepsRun,
            EarlierAttempts = JobStoreJson.SerializeOrNull(training?.EarlierAttempts),
        }, transaction, cancellationToken));

        var outcome = inserted > 0 ? EpochWrite.Recorded : await CompareWithRecordAsync(connection, transaction, key.Id, metrics.Epoch, training, recordedAt, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return outcome;
    }

    /// <summary>The epoch has a record: the same write again, or a conflict to keep (once per attempt).</summary>
    private async Task<EpochWrite> CompareWithRecordAsync(
        DbConnection connection, DbTransaction transaction, object id, int epoch, EpochTraining? training, DateTimeOffset recordedAt,
        CancellationToken cancellationToken)
    {
        var recorded = await connection.QuerySingleAsync<EpochRow>(JobDatabase.Command(
            $"SELECT job_id, {MetricColumns}, recorded_at, {TrainingColumns} FROM job_epochs WHERE job_id = @Id AND epoch = @Epoch",
            new { Id = id, Epoch = epoch }, transaction, cancellationToken));
        // A write without an attempt is an epoch re-recorded from a checkpoint of an older release:
        // it cannot tell, and it asks only that the epoch be recorded, which it is.
        if (training is null || Equals(recorded.Training(), training))
            return EpochWrite.AlreadyRecorded;

        await connection.ExecuteAsync(JobDatabase.Command($"""
            INSERT INTO job_epoch_conflicts (job_id, epoch, {TrainingColumns}, recorded_at)
            VALUES (@Id, @Epoch, @Attempt, @ResumedFromStep, @StepsRun, {database.Json("@EarlierAttempts")}, @RecordedAt)
            ON CONFLICT (job_id, epoch, attempt) DO NOTHING
            """, new
        {
            Id = id,
            Epoch = epoch,
            training.Attempt,
            training.ResumedFromStep,
            training.StepsRun,
            EarlierAttempts = JobStoreJson.Serialize(training.EarlierAttempts),
            RecordedAt = database.Time(recordedAt),
        }, transaction, cancellationToken));
        return EpochWrite.Conflict;
    }

    public Task<IReadOnlyList<EpochRecord>> GetEpochsAsync(Guid id, int sinceEpoch, CancellationToken cancellationToken) =>
        ReadEpochsAsync(id, sinceEpoch, limit: null, cancellationToken);

    public Task<IReadOnlyList<EpochRecord>> GetEpochPageAsync(Guid id, int sinceEpoch, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return ReadEpochsAsync(id, sinceEpoch, limit, cancellationToken);
    }

    /// <summary>The epochs after <paramref name="sinceEpoch"/>, at most <paramref name="limit"/> of them, each with its conflicts.</summary>
    private async Task<IReadOnlyList<EpochRecord>> ReadEpochsAsync(Guid id, int sinceEpoch, int? limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        // The primary key (job_id, epoch) serves this as a range scan that stops after the limit.
        var rows = (await connection.QueryAsync<EpochRow>(JobDatabase.Command(
            $"SELECT job_id, {MetricColumns}, recorded_at, {TrainingColumns} FROM job_epochs WHERE job_id = @Id AND epoch > @Since ORDER BY epoch"
                + (limit is null ? "" : " LIMIT @Limit"),
            new { Id = database.Id(id), Since = sinceEpoch, Limit = limit }, null, cancellationToken))).ToList();
        if (rows.Count == 0)
            return [];
        var conflicts = (await connection.QueryAsync<EpochConflictRow>(JobDatabase.Command(
                $"SELECT epoch, {TrainingColumns}, recorded_at FROM job_epoch_conflicts WHERE job_id = @Id AND epoch > @Since AND epoch <= @Last ORDER BY epoch, recorded_at, attempt",
                new { Id = database.Id(id), Since = sinceEpoch, Last = rows[^1].Epoch }, null, cancellationToken)))
            .ToLookup(c => c.Epoch, c => c.ToConflict());
        return [.. rows.Select(row => row.ToRecord() with { Conflicts = [.. conflicts[row.Epoch]] })];
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
    public int? Attempt { get; init; }
    public int? ResumedFromStep { get; init; }
    public int? StepsRun { get; init; }
    public string? EarlierAttempts { get; init; }

    /// <summary>Null for an epoch recorded before attempts were (migration 40).</summary>
    public EpochTraining? Training() => Attempt is { } attempt
        ? new EpochTraining(attempt, ResumedFromStep ?? 0, StepsRun ?? 0, JobStoreJson.DeserializeOrNull<List<AttemptSteps>>(EarlierAttempts) ?? [])
        : null;

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
        RecordedAt)
    {
        Training = Training(),
    };
}

/// <summary>A row of <c>job_epoch_conflicts</c>.</summary>
internal sealed class EpochConflictRow
{
    public int Epoch { get; init; }
    public int Attempt { get; init; }
    public int ResumedFromStep { get; init; }
    public int StepsRun { get; init; }
    public string EarlierAttempts { get; init; } = "[]";
    public DateTimeOffset RecordedAt { get; init; }

    public EpochConflict ToConflict() =>
        new(new EpochTraining(Attempt, ResumedFromStep, StepsRun, JobStoreJson.Deserialize<List<AttemptSteps>>(EarlierAttempts)), RecordedAt);
}
