using Dapper;
using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary>
/// Stores new jobs, or finds the ones stored earlier under their idempotency keys. Submissions that
/// arrive together are stored together, in one transaction (<see cref="GroupCommit{TItem,TResult}"/>),
/// written the database's way (<see cref="JobDatabase.JobRowInsert"/>).
/// </summary>
/// <remarks>
/// Idempotent creation is an <c>INSERT ... ON CONFLICT (idempotency_key) DO NOTHING</c> against a
/// unique index, which the database serialises.
/// </remarks>
internal sealed class JobCreation
{
    /// <summary>The most jobs one creation transaction stores (23 parameters each, where a statement is one job).</summary>
    private const int MaxJobsPerTransaction = 100;

    private readonly JobDatabase database;
    private readonly IJobRowInsert insert;
    private readonly GroupCommit<JobRecord, (JobRecord Job, bool Created)> commits;

    public JobCreation(JobDatabase database)
    {
        this.database = database;
        insert = database.JobRowInsert;
        commits = new(InsertAsync, MaxJobsPerTransaction);
    }

    public Task<(JobRecord Job, bool Created)> CreateAsync(JobRecord job) => commits.CommitAsync(job);

    private async Task<IReadOnlyList<(JobRecord Job, bool Created)>> InsertAsync(IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken);
        // In idempotency-key order: two processes' batches take the keys' index locks in the same
        // order, so they wait for each other rather than deadlock.
        var ordered = jobs.OrderBy(job => job.IdempotencyKey, StringComparer.Ordinal).ToList();
        var stored = (await insert.InsertAsync(connection, transaction, ordered, cancellationToken)).ToDictionary(job => job.Id);
        var results = new List<(JobRecord Job, bool Created)>(jobs.Count);
        foreach (var job in jobs)
        {
            if (stored.TryGetValue(job.Id, out var inserted))
            {
                results.Add((inserted, true));
                continue;
            }
            // The key is taken: the insert waited for the other one to commit (the unique index
            // serialises them) or it came earlier in this transaction, so the job it stored is
            // visible now, and jobs are never deleted.
            var existing = (await connection.QueryAsync<JobRow>(JobDatabase.Command(
                $"SELECT {JobRow.Columns} FROM jobs WHERE idempotency_key = @Key", new { Key = job.IdempotencyKey }, transaction, cancellationToken))).AsList();
            results.Add(existing.Count == 1
                ? (existing[0].ToRecord(), false)
                : throw new InvalidOperationException($"Job {job.Id} was not stored and no job has its idempotency key."));
        }
        await transaction.CommitAsync(cancellationToken);
        return results;
    }
}
