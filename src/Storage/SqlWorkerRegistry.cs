using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary><see cref="IWorkerRegistry"/> in SQL, on either engine: table <c>workers</c>.</summary>
public sealed class SqlWorkerRegistry(JobDatabase database) : IWorkerRegistry
{
    private const string Columns = "id, host, queues, device, running_job_id, started_at, last_heartbeat";

    public Task UpsertWorkerAsync(WorkerRecord worker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(worker);
        var sql = $"""
            INSERT INTO workers ({Columns})
            VALUES (@Id, @Host, {database.Json("@Queues")}, @Device, @RunningJobId, @StartedAt, @LastHeartbeat)
            ON CONFLICT (id) DO UPDATE
            SET host = excluded.host, queues = excluded.queues, device = excluded.device,
                running_job_id = excluded.running_job_id, started_at = excluded.started_at,
                last_heartbeat = excluded.last_heartbeat
            """;
        return database.ExecuteAsync(sql, new
        {
            worker.Id,
            worker.Host,
            Queues = JobStoreJson.Serialize(worker.Queues),
            worker.Device,
            RunningJobId = database.Id(worker.RunningJobId),
            StartedAt = database.Time(worker.StartedAt),
            LastHeartbeat = database.Time(worker.LastHeartbeat),
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(DateTimeOffset aliveSince, CancellationToken cancellationToken)
    {
        var rows = await database.QueryAsync<WorkerRow>($"SELECT {Columns} FROM workers WHERE last_heartbeat >= @AliveSince ORDER BY id",
            new { AliveSince = database.Time(aliveSince) }, cancellationToken);
        return [.. rows.Select(row => new WorkerRecord(
            row.Id, row.Host, JobStoreJson.Deserialize<string[]>(row.Queues), row.Device, row.RunningJobId, row.StartedAt, row.LastHeartbeat))];
    }

    public Task RemoveWorkerAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return database.ExecuteAsync("DELETE FROM workers WHERE id = @Id", new { Id = id }, cancellationToken);
    }
}

/// <summary>A row of <c>workers</c>: the queues as their JSON text.</summary>
internal sealed class WorkerRow
{
    public required string Id { get; init; }
    public required string Host { get; init; }
    public required string Queues { get; init; }
    public required string Device { get; init; }
    public Guid? RunningJobId { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset LastHeartbeat { get; init; }
}
