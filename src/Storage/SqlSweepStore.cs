using System.Text.Json;
using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary><see cref="ISweepStore"/> in SQL, on either engine: tables <c>sweeps</c> and <c>sweep_jobs</c>.</summary>
public sealed class SqlSweepStore(JobDatabase database) : ISweepStore
{
    internal const string Columns = "id, name, tags, base_job, grid, points, point_count, max_concurrent, created_at, cancel_requested, cancelled_at, owner";

    public Task CreateSweepAsync(SweepRecord sweep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        var sql = $"""
            INSERT INTO sweeps ({Columns})
            VALUES (@Id, @Name, {database.Json("@Tags")}, {database.Json("@BaseJob")}, {database.Json("@Grid")}, {database.Json("@Points")},
                    @PointCount, @MaxConcurrent, @CreatedAt, @CancelRequested, @CancelledAt, @Owner)
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
              AND (SELECT COUNT(*) FROM sweep_jobs j WHERE j.sweep_id = s.id) < s.point_count
            ORDER BY created_at, id
            """, null, cancellationToken);

    public async Task<bool> AddSweepJobAsync(Guid sweepId, int point, Guid jobId, CancellationToken cancellationToken) =>
        await database.ExecuteAsync(
            "INSERT INTO sweep_jobs (sweep_id, point, job_id) VALUES (@SweepId, @Point, @JobId) ON CONFLICT (sweep_id, point) DO NOTHING",
            new { SweepId = database.Id(sweepId), Point = point, JobId = database.Id(jobId) }, cancellationToken) > 0;

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
    };
}
