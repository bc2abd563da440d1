using TrainingService.Contracts.Datasets;

namespace TrainingService.Api.Datasets;

/// <summary>
/// Finds the dataset a job names, as one caller may see it: a built-in by name, or an upload by
/// its id when the caller may see its owner's things (another owner's upload reads as one that
/// does not exist, as another owner's job does).
/// </summary>
public sealed class DatasetLookup(IDatasetStore store, Func<string?, bool> canSeeOwner)
{
    /// <summary>The dataset <paramref name="name"/> names (an id in any of .NET's forms), or null.</summary>
    public async Task<DatasetInfo?> FindAsync(string name, CancellationToken cancellationToken)
    {
        if (DatasetCatalog.Find(name) is { } builtIn)
            return builtIn;
        if (!TryParseId(name, out var id))
            return null;
        var record = await store.GetDatasetAsync(id, cancellationToken);
        return record is not null && canSeeOwner(record.Owner) ? record.ToInfo() : null;
    }

    /// <summary>An uploaded dataset's id, from its 36-character form (with or without braces) or 32 hex digits.</summary>
    public static bool TryParseId(string? text, out Guid id) =>
        Guid.TryParse(text, out id) && text!.Length is 32 or 36 or 38;

    /// <summary>Only the built-ins: where no store is at hand, an upload cannot be named.</summary>
    public static DatasetLookup BuiltInsOnly { get; } = new(NoUploads.Instance, _ => false);

    private sealed class NoUploads : IDatasetStore
    {
        public static NoUploads Instance { get; } = new();
        public Task CreateDatasetAsync(DatasetRecord dataset, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<DatasetRecord?> GetDatasetAsync(Guid id, CancellationToken cancellationToken) => Task.FromResult<DatasetRecord?>(null);
        public Task<IReadOnlyList<DatasetRecord>> ListDatasetsAsync(string? owner, int limit, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<DatasetRecord>>([]);
        public Task<DatasetDeleteOutcome> DeleteDatasetAsync(Guid id, CancellationToken cancellationToken) => Task.FromResult(DatasetDeleteOutcome.NotFound);
        public Task<int> CountUnfinishedJobsUsingAsync(string dataset, CancellationToken cancellationToken) => Task.FromResult(0);
    }
}
