namespace TrainingService.Contracts;

/// <summary>Each job's structured log events, numbered by the store in the order they became visible.</summary>
public interface IJobLogStore
{
    /// <summary>Appends log events; their <see cref="JobLogRecord.Sequence"/> is ignored and assigned by the store.</summary>
    Task AppendLogsAsync(IReadOnlyList<JobLogRecord> logs, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> log events of a job with a sequence above <paramref name="afterSequence"/>, in order.</summary>
    Task<IReadOnlyList<JobLogRecord>> GetLogsAsync(Guid id, long afterSequence, int limit, CancellationToken cancellationToken);
}
