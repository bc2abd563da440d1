using Microsoft.Extensions.Options;
using TrainingService.Contracts;
using TrainingService.Contracts.Datasets;

namespace TrainingService.Api.Datasets;

/// <summary>
/// Uploaded datasets' folders on the checkpoint volume (<see cref="DatasetFolder"/>): a staging
/// folder per upload in progress, renamed into place in one step once the upload is valid (so no
/// dataset folder is ever half-written), read-only files, and removal by renaming away first.
/// </summary>
public sealed class DatasetVolume(IOptions<CheckpointOptions> checkpoints, TimeProvider time)
{
    private string Root => checkpoints.Value.Root;

    /// <summary>A new, empty staging folder for one upload.</summary>
    public string CreateStagingFolder()
    {
        var folder = Path.Combine(DatasetFolder.Staging(Root), Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>
    /// Makes a complete staging folder the dataset <paramref name="id"/>: its files read-only, the
    /// folder renamed into place (atomic on one file system), and both renames flushed to disk.
    /// </summary>
    public string Commit(string stagingFolder, Guid id)
    {
        foreach (var file in Directory.EnumerateFiles(stagingFolder))
        {
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        DatasetFolder.FlushDirectory(stagingFolder);
        var target = DatasetFolder.For(Root, id);
        Directory.Move(stagingFolder, target);
        DatasetFolder.FlushDirectory(DatasetFolder.Root(Root));
        return target;
    }

    /// <summary>Removes a folder (staging, or a dataset's), leaving nothing; a folder already gone is fine.</summary>
    public static void Remove(string folder)
    {
        if (!Directory.Exists(folder))
            return;
        // Out of its name first, so a reader never finds a dataset folder with some files missing.
        var doomed = Path.Combine(Path.GetDirectoryName(folder)!, ".removing-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.Move(folder, doomed);
        }
        catch (DirectoryNotFoundException)
        {
            return;
        }
        Directory.Delete(doomed, recursive: true);
    }

    /// <summary>Removes dataset <paramref name="id"/>'s folder (after its record was deleted).</summary>
    public void RemoveDataset(Guid id) => Remove(DatasetFolder.For(Root, id));

    /// <summary>
    /// What an API process that died mid-upload or mid-delete left: staging and half-removed folders,
    /// and dataset folders with no record (renamed into place but never recorded), older than
    /// <paramref name="minimumAge"/> so that another process's upload in progress is left alone.
    /// Returns the folders removed.
    /// </summary>
    public async Task<IReadOnlyList<string>> RemoveLeftoversAsync(IDatasetStore store, TimeSpan minimumAge, CancellationToken cancellationToken)
    {
        var root = DatasetFolder.Root(Root);
        if (!Directory.Exists(root))
            return [];
        var cutoff = time.GetUtcNow() - minimumAge;
        var staging = DatasetFolder.Staging(Root);
        var candidates = new List<string>(Directory.Exists(staging) ? Directory.EnumerateDirectories(staging) : []);
        candidates.AddRange(Directory.EnumerateDirectories(root, ".removing-*"));
        foreach (var folder in Directory.EnumerateDirectories(root))
        {
            if (DatasetFolder.IdOf(Path.GetFileName(folder)) is { } id && await store.GetDatasetAsync(id, cancellationToken) is null)
                candidates.Add(folder);
        }
        var removed = new List<string>();
        foreach (var folder in candidates.Where(f => Directory.GetLastWriteTimeUtc(f) < cutoff.UtcDateTime))
        {
            Directory.Delete(folder, recursive: true);
            removed.Add(folder);
        }
        return removed;
    }
}
