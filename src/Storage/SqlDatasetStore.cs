using TrainingService.Contracts.Datasets;

namespace TrainingService.Storage;

/// <summary><see cref="IDatasetStore"/> in SQL, on either engine: table <c>datasets</c>, and <c>jobs.dataset</c> for what is in use.</summary>
public sealed class SqlDatasetStore(JobDatabase database) : IDatasetStore
{
    private const string Columns = "id, name, owner, image_rows, image_columns, channels, class_count, class_names, files, digest, created_at";

    /// <summary>The statuses of a job that has not ended: it may still read its dataset.</summary>
    private const string Unfinished = "('queued', 'running', 'cancelling', 'interrupted')";

    public Task CreateDatasetAsync(DatasetRecord dataset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var sql = $"""
            INSERT INTO datasets ({Columns})
            VALUES (@Id, @Name, @Owner, @Rows, @Columns, @Channels, @ClassCount, {database.Json("@ClassNames")}, {database.Json("@Files")}, @Digest, @CreatedAt)
            """;
        return database.ExecuteAsync(sql, new
        {
            Id = database.Id(dataset.Id),
            dataset.Name,
            dataset.Owner,
            dataset.Geometry.Rows,
            dataset.Geometry.Columns,
            dataset.Geometry.Channels,
            dataset.Geometry.ClassCount,
            ClassNames = JobStoreJson.SerializeOrNull(dataset.ClassNames),
            Files = JobStoreJson.Serialize(dataset.Files),
            dataset.Digest,
            CreatedAt = database.Time(dataset.CreatedAt),
        }, cancellationToken);
    }

    public async Task<DatasetRecord?> GetDatasetAsync(Guid id, CancellationToken cancellationToken) =>
        (await database.QueryFirstOrDefaultAsync<DatasetRow>($"SELECT {Columns} FROM datasets WHERE id = @Id", new { Id = database.Id(id) }, cancellationToken))
            ?.ToRecord();

    public async Task<IReadOnlyList<DatasetRecord>> ListDatasetsAsync(string? owner, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var where = owner is null ? "" : "WHERE owner = @Owner";
        var rows = await database.QueryAsync<DatasetRow>($"SELECT {Columns} FROM datasets {where} ORDER BY created_at DESC, id DESC LIMIT @Limit",
            new { Owner = owner, Limit = limit }, cancellationToken);
        return [.. rows.Select(row => row.ToRecord())];
    }

    public async Task<DatasetDeleteOutcome> DeleteDatasetAsync(Guid id, CancellationToken cancellationToken)
    {
        // One statement: the check and the delete see the same jobs. A job stored after it commits
        // names a dataset that no longer exists; its worker fails it with a user error.
        var deleted = await database.ExecuteAsync($"""
            DELETE FROM datasets WHERE id = @Id
              AND NOT EXISTS (SELECT 1 FROM jobs WHERE dataset = @Name AND status IN {Unfinished})
            """, new { Id = database.Id(id), Name = id.ToString("D") }, cancellationToken);
        if (deleted > 0)
            return DatasetDeleteOutcome.Deleted;
        return await GetDatasetAsync(id, cancellationToken) is null ? DatasetDeleteOutcome.NotFound : DatasetDeleteOutcome.InUse;
    }

    public async Task<int> CountUnfinishedJobsUsingAsync(string dataset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return checked((int)await database.ScalarAsync<long>(
            $"SELECT COUNT(*) FROM jobs WHERE dataset = @Dataset AND status IN {Unfinished}", new { Dataset = dataset }, cancellationToken));
    }
}

/// <summary>A row of <c>datasets</c>: JSON columns as their text.</summary>
internal sealed class DatasetRow
{
    public Guid Id { get; init; }
    public string? Name { get; init; }
    public string? Owner { get; init; }
    public int ImageRows { get; init; }
    public int ImageColumns { get; init; }
    public int Channels { get; init; }
    public int ClassCount { get; init; }
    public string? ClassNames { get; init; }
    public required string Files { get; init; }
    public required string Digest { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    public DatasetRecord ToRecord() => new()
    {
        Id = Id,
        Name = Name,
        Owner = Owner,
        Geometry = new ImageGeometry(ImageRows, ImageColumns, Channels, ClassCount),
        ClassNames = JobStoreJson.DeserializeOrNull<string[]>(ClassNames),
        Files = JobStoreJson.Deserialize<IdxFileInfo[]>(Files),
        Digest = Digest,
        CreatedAt = CreatedAt,
    };
}
