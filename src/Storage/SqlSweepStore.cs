using System.Text.Json;
using Dapper;
using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary>
/// <see cref="ISweepStore"/> in SQL, on either engine: tables <c>sweeps</c>, <c>sweep_jobs</c> (a trial's
/// job, one per (sweep, point)) and <c>sweep_decisions</c> (early stopping's, one per (sweep, point, epoch)).
/// </summary>
public sealed class SqlSweepStore(JobDatabase database) : ISweepStore
{
    internal const string Columns = "id, name, tags, base_job, grid, points, point_count, max_concurrent, created_at, cancel_requested, cancelled_at, owner, search";

    public Task CreateSweepAsync(SweepRecord sweep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        var sql = $"""
            INSERT INTO sweeps ({Columns})
            VALUES (@Id, @Name, {database.Json("@Tags")}, {database.Json("@BaseJob")}, {database.Json("@Grid")}, {database.Json("@Points")},
                    @PointCount, @MaxConcurrent, @CreatedAt, @CancelRequested, @CancelledAt, @Owner, {database.Json("@Search")})
            """;
        return database.ExecuteAsync(sql, new
        {
            Id = database.Id(sweep.Id),
            sweep.Name,
            Tags = JobStoreJson.Serialize(sweep.Tags),
            BaseJob = sweep.BaseJob.GetRawText(),
            Grid = JobStoreJson.Serialize(sweep.Grid),
            Points = JobStoreJson.Serialize(sweep.Points),
            PointCount = sweep.Points.Count,
            sweep.MaxConcurrent,
            CreatedAt = database.Time(sweep.CreatedAt),
            sweep.CancelRequested,
            CancelledAt = database.Time(sweep.CancelledAt),
            sweep.Owner,
            Search = JobStoreJson.Serialize(sweep.Search),
        }, cancellationToken);
    }

    public async Task<SweepRecord?> GetSweepAsync(Guid id, CancellationToken cancellationToken) =>
        (await database.QueryFirstOrDefaultAsync<SweepRow>($"SELECT {Columns} FROM sweeps WHERE id = @Id", new { Id = database.Id(id) }, cancellationToken))
            ?.ToRecord();

    public async Task<IReadOnlyList<SweepRecord>> ListSweepsAsync(SweepQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        var where = query.Owner is null ? "" : "WHERE owner = @Owner";
        return await QuerySweepsAsync($"SELECT {Columns} FROM sweeps {where} ORDER BY created_at DESC, id DESC LIMIT @Limit",
            new { query.Limit, query.Owner }, cancellationToken);
    }

    public Task<IReadOnlyList<SweepRecord>> ListOpenSweepsAsync(CancellationToken cancellationToken) =>
        QuerySweepsAsync($"""
            SELECT {Columns} FROM sweeps s
            WHERE cancel_requested = FALSE
              AND ((SELECT COUNT(*) FROM sweep_jobs j WHERE j.sweep_id = s.id) < s.point_count
                   OR EXISTS (SELECT 1 FROM sweep_jobs sj JOIN jobs j ON j.id = sj.job_id
                              WHERE sj.sweep_id = s.id AND j.status NOT IN ('succeeded', 'failed', 'cancelled')))
            ORDER BY created_at, id
            """, null, cancellationToken);

    public async Task<bool> AddSweepJobAsync(Guid sweepId, int point, Guid jobId, CancellationToken cancellationToken) =>
        await database.ExecuteAsync(
            "INSERT INTO sweep_jobs (sweep_id, point, job_id) VALUES (@SweepId, @Point, @JobId) ON CONFLICT (sweep_id, point) DO NOTHING",
            new { SweepId = database.Id(sweepId), Point = point, JobId = database.Id(jobId) }, cancellationToken) > 0;

    /// <remarks>
    /// The job first (the link references it), then the link; a link that finds its key taken rolls the
    /// job back with it. On PostgreSQL a second transaction inserting the same (sweep, point), or the same
    /// per-trial idempotency key, waits for the first to commit and then inserts nothing; on SQLite the
    /// write transactions take turns.
    /// </remarks>
    public async Task<(JobRecord Job, bool Created)> AllocateTrialAsync(Guid sweepId, int point, JobRecord job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using (var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken))
        {
            var stored = await database.JobRowInsert.InsertAsync(connection, transaction, [job], cancellationToken);
            if (stored.Count == 1)
            {
                var linked = await connection.ExecuteAsync(JobDatabase.Command(
                    "INSERT INTO sweep_jobs (sweep_id, point, job_id) VALUES (@SweepId, @Point, @JobId) ON CONFLICT (sweep_id, point) DO NOTHING",
                    new { SweepId = database.Id(sweepId), Point = point, JobId = database.Id(job.Id) }, transaction, cancellationToken));
                if (linked == 1)
                {
                    await transaction.CommitAsync(cancellationToken);
                    return (stored[0], true);
                }
            }
            // The trial's job exists: committed by whoever allocated it, with its link.
            await transaction.RollbackAsync(cancellationToken);
        }
        var existing = (await GetSweepJobsAsync(sweepId, cancellationToken)).SingleOrDefault(j => j.Point == point)
            ?? throw new InvalidOperationException($"Trial {point} of sweep {sweepId} was not allocated, and no job is linked to it.");
        return (existing.Job, false);
    }

    public async Task<bool> TryRecordDecisionAsync(Guid sweepId, SweepDecision decision, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(decision);
        const string sql = """
            INSERT INTO sweep_decisions (sweep_id, point, epoch, job_id, value, cutoff, compared, stop, decided_at)
            VALUES (@SweepId, @Point, @Epoch, @JobId, @Value, @Cutoff, @Compared, @Stop, @DecidedAt)
            ON CONFLICT (sweep_id, point, epoch) DO NOTHING
            """;
        return await database.ExecuteAsync(sql, new
        {
            SweepId = database.Id(sweepId),
            decision.Point,
            decision.Epoch,
            JobId = database.Id(decision.JobId),
            decision.Value,
            decision.Cutoff,
            decision.Compared,
            decision.Stop,
            DecidedAt = database.Time(decision.DecidedAt),
        }, cancellationToken) > 0;
    }

    public async Task<IReadOnlyList<SweepDecision>> GetDecisionsAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT point, epoch, job_id, value, cutoff, compared, stop, decided_at
            FROM sweep_decisions WHERE sweep_id = @SweepId ORDER BY point, epoch
            """;
        var rows = await database.QueryAsync<DecisionRow>(sql, new { SweepId = database.Id(sweepId) }, cancellationToken);
        return [.. rows.Select(r => new SweepDecision(r.Point, r.JobId, r.Epoch, r.Value, r.Cutoff, r.Compared, r.Stop, r.DecidedAt))];
    }

    public async Task<IReadOnlyList<SweepJob>> GetSweepJobsAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var columns = string.Join(", ", JobRow.Columns.Split(", ").Select(c => "j." + c));
        var sql = $"""
            SELECT s.point AS sweep_point, {columns}
            FROM sweep_jobs s JOIN jobs j ON j.id = s.job_id
            WHERE s.sweep_id = @SweepId
            ORDER BY s.point
            """;
        var rows = await database.QueryAsync<SweepJobRow>(sql, new { SweepId = database.Id(sweepId) }, cancellationToken);
        return [.. rows.Select(row => new SweepJob(row.SweepPoint, row.ToRecord()))];
    }

    public async Task<bool> RequestSweepCancelAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE sweeps SET cancel_requested = TRUE, cancelled_at = @Now WHERE id = @Id AND cancel_requested = FALSE",
            new { Id = database.Id(id), Now = database.Time(now) }, cancellationToken) > 0;

    private async Task<IReadOnlyList<SweepRecord>> QuerySweepsAsync(string sql, object? parameters, CancellationToken cancellationToken) =>
        [.. (await database.QueryAsync<SweepRow>(sql, parameters, cancellationToken)).Select(row => row.ToRecord())];
}

/// <summary>A row of <c>sweeps</c>: tags, base job, grid and points as their JSON text.</summary>
internal sealed class SweepRow
{
    public Guid Id { get; init; }
    public string? Name { get; init; }
    public required string Tags { get; init; }
    public required string BaseJob { get; init; }
    public required string Grid { get; init; }
    public required string Points { get; init; }
    public int PointCount { get; init; }
    public int MaxConcurrent { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public bool CancelRequested { get; init; }
    public DateTimeOffset? CancelledAt { get; init; }
    public string? Owner { get; init; }
    public string? Search { get; init; }

    public SweepRecord ToRecord() => new()
    {
        Id = Id,
        Name = Name,
        Tags = JobStoreJson.Deserialize<string[]>(Tags),
        BaseJob = JobStoreJson.Deserialize<JsonElement>(BaseJob),
        Grid = JobStoreJson.Deserialize<SweepAxis[]>(Grid),
        Points = JobStoreJson.Deserialize<Dictionary<string, JsonElement>[]>(Points),
        MaxConcurrent = MaxConcurrent,
        CreatedAt = CreatedAt,
        CancelRequested = CancelRequested,
        CancelledAt = CancelledAt,
        Owner = Owner,
        // Sweeps stored before search existed are grids without early stopping.
        Search = Search is null ? new SweepSearch() : JobStoreJson.Deserialize<SweepSearch>(Search),
    };
}

/// <summary>A row of <c>sweep_decisions</c>.</summary>
internal sealed class DecisionRow
{
    public int Point { get; init; }
    public int Epoch { get; init; }
    public Guid JobId { get; init; }
    public double Value { get; init; }
    public double? Cutoff { get; init; }
    public int Compared { get; init; }
    public bool Stop { get; init; }
    public DateTimeOffset DecidedAt { get; init; }
}
