using System.Data.Common;
using Dapper;
using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary>
/// Inserts, in their order, the jobs whose idempotency key is free (the others are left out,
/// <c>ON CONFLICT (idempotency_key) DO NOTHING</c>), in the caller's transaction, and returns them as stored.
/// </summary>
internal interface IJobRowInsert
{
    Task<IReadOnlyList<JobRecord>> InsertAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken);
}

/// <summary>The portable way: one <c>INSERT ... RETURNING</c> per job.</summary>
internal sealed class JobRowByRowInsert(JobDatabase database) : IJobRowInsert
{
    private readonly string sql = $"""
        INSERT INTO jobs ({JobRow.Columns})
        VALUES (@Id, @Kind, @Architecture, @Status, @Name, {database.Json("@Tags")}, {database.Json("@Hyperparameters")},
                {database.Json("@Source")}, @IdempotencyKey, @Queue, @CreatedAt, @StartedAt, @FinishedAt, @Attempt,
                @LeaseToken, @Worker, @Device, @HeartbeatAt, @CancelRequested, {database.Json("@Progress")},
                {database.Json("@Result")}, {database.Json("@Error")}, @Owner, {database.Json("@Expect")}, @TraceParent,
                @TerminationReason, @Dataset)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING {JobRow.Columns}
        """;

    public async Task<IReadOnlyList<JobRecord>> InsertAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken)
    {
        var stored = new List<JobRecord>(jobs.Count);
        foreach (var job in jobs)
        {
            var rows = await connection.QueryAsync<JobRow>(JobDatabase.Command(sql, Parameters(job), transaction, cancellationToken));
            stored.AddRange(rows.Select(row => row.ToRecord()));
        }
        return stored;
    }

    private object Parameters(JobRecord job) => new
    {
        Id = database.Id(job.Id),
        Kind = JobRow.Text(job.Kind),
        job.Architecture,
        Status = JobRow.Text(job.Status),
        job.Name,
        Tags = JobStoreJson.Serialize(job.Tags),
        Hyperparameters = JobStoreJson.Serialize(job.Hyperparameters),
        Source = JobStoreJson.SerializeOrNull(job.Source),
        job.IdempotencyKey,
        job.Queue,
        CreatedAt = database.Time(job.CreatedAt),
        StartedAt = database.Time(job.StartedAt),
        FinishedAt = database.Time(job.FinishedAt),
        job.Attempt,
        LeaseToken = database.Id(job.LeaseToken),
        job.Worker,
        job.Device,
        HeartbeatAt = database.Time(job.HeartbeatAt),
        job.CancelRequested,
        Progress = JobStoreJson.SerializeOrNull(job.Progress),
        Result = JobStoreJson.SerializeOrNull(job.Result),
        Error = JobStoreJson.SerializeOrNull(job.Error),
        job.Owner,
        Expect = JobStoreJson.SerializeOrNull(job.Expect),
        job.TraceParent,
        TerminationReason = job.TerminationReason is { } reason ? JobRow.Text(reason) : null,
        job.Dataset,
    };
}
