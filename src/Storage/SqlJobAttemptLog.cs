using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary>
/// <see cref="IJobAttemptLog"/> in SQL: the <c>job_attempts</c> rows that <see cref="SqlJobStore"/> writes
/// as attempts start and end, and the start point the worker adds once it has loaded its checkpoint.
/// </summary>
public sealed class SqlJobAttemptLog(JobDatabase database) : IJobAttemptLog
{
    public async Task<IReadOnlyList<JobAttempt>> ListAttemptsAsync(Guid jobId, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT attempt, worker, device, started_at, ended_at, reason, message, started_from_epoch, started_from_step, reached_epoch, reached_step
            FROM job_attempts WHERE job_id = @JobId ORDER BY attempt
            """;
        var rows = await database.QueryAsync<AttemptRow>(sql, new { JobId = database.Id(jobId) }, cancellationToken);
        return [.. rows.Select(r => r.ToRecord())];
    }

    public async Task<bool> RecordStartPointAsync(Guid jobId, Guid leaseToken, int epoch, long step, CancellationToken cancellationToken)
    {
        const string sql = """
            UPDATE job_attempts SET started_from_epoch = @Epoch, started_from_step = @Step
            WHERE job_id = @JobId AND attempt = (SELECT attempt FROM jobs WHERE id = @JobId AND lease_token = @LeaseToken)
            """;
        return await database.ExecuteAsync(sql, new { JobId = database.Id(jobId), LeaseToken = database.Id(leaseToken), Epoch = epoch, Step = step }, cancellationToken) > 0;
    }
}

/// <summary>A row of <c>job_attempts</c> as read.</summary>
internal sealed class AttemptRow
{
    public int Attempt { get; init; }
    public required string Worker { get; init; }
    public required string Device { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public string? Reason { get; init; }
    public string? Message { get; init; }
    public int? StartedFromEpoch { get; init; }
    public long? StartedFromStep { get; init; }
    public int? ReachedEpoch { get; init; }
    public long? ReachedStep { get; init; }

    public JobAttempt ToRecord() => new(
        Attempt, Worker, Device, StartedAt, EndedAt,
        Reason is null ? null : JobStoreJson.Deserialize<TerminationReason>($"\"{Reason}\""),
        Message, StartedFromEpoch, StartedFromStep, ReachedEpoch, ReachedStep);
}
