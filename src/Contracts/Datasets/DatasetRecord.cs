using System.Security.Cryptography;
using System.Text;

namespace TrainingService.Contracts.Datasets;

/// <summary>
/// An uploaded dataset as stored: immutable once created. Its files are on the checkpoint volume
/// (<see cref="DatasetFolder"/>), decompressed, with the SHA-256 of each recorded here; jobs name it
/// by <see cref="Id"/>.
/// </summary>
public sealed record DatasetRecord
{
    public required Guid Id { get; init; }

    /// <summary>A label for people, or null.</summary>
    public string? Name { get; init; }

    /// <summary>The name of the API key that uploaded it; null when authentication was off (as for jobs).</summary>
    public string? Owner { get; init; }

    public required ImageGeometry Geometry { get; init; }

    /// <summary>One name per class, label 0 first; null when none were given (the labels' numbers are their names).</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>The four files, in <see cref="IdxFileNames.All"/>'s order, each with its count, size and SHA-256.</summary>
    public required IReadOnlyList<IdxFileInfo> Files { get; init; }

    /// <summary>The dataset's digest: <see cref="DigestOf"/> its files.</summary>
    public required string Digest { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public int TrainCount => Files.Single(f => f is { Split: DatasetSplit.Train, Kind: IdxFileKind.Images }).Count;

    public int TestCount => Files.Single(f => f is { Split: DatasetSplit.Test, Kind: IdxFileKind.Images }).Count;

    /// <summary>Bytes on the volume: the four decompressed files.</summary>
    public long SizeBytes => Files.Sum(f => f.DecompressedSize);

    /// <summary>What a job's <c>dataset</c> says to use this one: the id, in its 36-character form.</summary>
    public string JobName => Id.ToString("D");

    /// <summary>The dataset as the loader and the job submission see one, built-in or not.</summary>
    public DatasetInfo ToInfo() => new()
    {
        Name = JobName,
        Title = Name ?? JobName,
        Geometry = Geometry,
        ClassNames = ClassNames ?? [.. Enumerable.Range(0, Geometry.ClassCount).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))],
        Files = Files,
        BuiltIn = false,
    };

    /// <summary>
    /// The SHA-256 (lowercase hex) of the four files' SHA-256s, each as lowercase hex followed by a
    /// newline, in <see cref="IdxFileNames.All"/>'s order: one value that changes when any file does.
    /// </summary>
    public static string DigestOf(IReadOnlyList<IdxFileInfo> files)
    {
        var text = new StringBuilder();
        foreach (var (baseName, _, _) in IdxFileNames.All)
            text.Append(files.Single(f => f.BaseName == baseName).Sha256 ?? throw new ArgumentException($"{baseName} has no SHA-256.", nameof(files))).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(text.ToString())));
    }
}

/// <summary>How a request to delete a dataset ended.</summary>
public enum DatasetDeleteOutcome
{
    NotFound,
    Deleted,
    /// <summary>Unfinished jobs (queued, running, cancelling or interrupted) name it: nothing changed.</summary>
    InUse,
}

/// <summary>
/// The uploaded datasets' records (table <c>datasets</c>), in the same database as the jobs, so
/// that "no unfinished job uses it" and the delete are one statement.
/// </summary>
public interface IDatasetStore
{
    Task CreateDatasetAsync(DatasetRecord dataset, CancellationToken cancellationToken);

    Task<DatasetRecord?> GetDatasetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Newest first, at most <paramref name="limit"/>; only <paramref name="owner"/>'s when it is set.</summary>
    Task<IReadOnlyList<DatasetRecord>> ListDatasetsAsync(string? owner, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes the record unless an unfinished job names the dataset (<see cref="DatasetDeleteOutcome.InUse"/>).</summary>
    Task<DatasetDeleteOutcome> DeleteDatasetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>How many unfinished jobs (queued, running, cancelling or interrupted) name <paramref name="dataset"/>.</summary>
    Task<int> CountUnfinishedJobsUsingAsync(string dataset, CancellationToken cancellationToken);
}
