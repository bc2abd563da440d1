using Dapper;
using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary><see cref="IJobLogStore"/> in SQL, on either engine: table <c>job_logs</c>, numbered by the database.</summary>
public sealed class SqlJobLogStore(JobDatabase database) : IJobLogStore
{
    public async Task AppendLogsAsync(IReadOnlyList<JobLogRecord> logs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(logs);
        if (logs.Count == 0)
            return;
        var rows = logs.Select(l => new
        {
            JobId = database.Id(l.JobId),
            LoggedAt = database.Time(l.Timestamp),
            l.Level,
            l.Message,
            Properties = l.PropertiesJson,
        }).ToList();
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken);
        await database.LockJobLogsAsync(connection, transaction, [.. logs.Select(l => l.JobId).Distinct()], cancellationToken);
        await connection.ExecuteAsync(JobDatabase.Command(
            "INSERT INTO job_logs (job_id, logged_at, level, message, properties) VALUES (@JobId, @LoggedAt, @Level, @Message, @Properties)",
            rows, transaction, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<JobLogRecord>> GetLogsAsync(Guid id, long afterSequence, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var rows = await database.QueryAsync<LogRow>(
            "SELECT sequence, job_id, logged_at, level, message, properties FROM job_logs WHERE job_id = @Id AND sequence > @After ORDER BY sequence LIMIT @Limit",
            new { Id = database.Id(id), After = afterSequence, Limit = limit }, cancellationToken);
        return [.. rows.Select(row => new JobLogRecord(row.Sequence, row.JobId, row.LoggedAt, row.Level, row.Message, row.Properties))];
    }
}

/// <summary>A row of <c>job_logs</c>: the properties as their JSON text, as the record keeps them.</summary>
internal sealed class LogRow
{
    public long Sequence { get; init; }
    public Guid JobId { get; init; }
    public DateTimeOffset LoggedAt { get; init; }
    public required string Level { get; init; }
    public required string Message { get; init; }
    public string? Properties { get; init; }
}
