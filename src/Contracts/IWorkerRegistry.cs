namespace TrainingService.Contracts;

/// <summary>The worker processes, as each one's heartbeat last reported it.</summary>
public interface IWorkerRegistry
{
    Task UpsertWorkerAsync(WorkerRecord worker, CancellationToken cancellationToken);

    /// <summary>Workers whose last heartbeat is at or after <paramref name="aliveSince"/>, by id.</summary>
    Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(DateTimeOffset aliveSince, CancellationToken cancellationToken);

    Task RemoveWorkerAsync(string id, CancellationToken cancellationToken);
}
