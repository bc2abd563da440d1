namespace TrainingService.Contracts.Datasets;

/// <summary>
/// Where uploaded datasets live on the checkpoint volume, beside the jobs' checkpoint folders:
/// <c>&lt;root&gt;/datasets/&lt;id&gt;/</c> holds the four decompressed IDX files under their usual
/// names. An upload is written under <c>&lt;root&gt;/datasets/.staging/</c> first and renamed into
/// place once it is complete and valid, so a dataset folder is never half-written. Paths are built
/// from ids alone, never from anything a client typed.
/// </summary>
public static class DatasetFolder
{
    public const string DirectoryName = "datasets";
    public const string StagingName = ".staging";

    /// <summary><c>&lt;root&gt;/datasets</c></summary>
    public static string Root(string checkpointRoot) => Path.Combine(Path.GetFullPath(checkpointRoot), DirectoryName);

    /// <summary><c>&lt;root&gt;/datasets/&lt;id as 32 hex digits&gt;</c></summary>
    public static string For(string checkpointRoot, Guid id) => Path.Combine(Root(checkpointRoot), id.ToString("N"));

    /// <summary><c>&lt;root&gt;/datasets/.staging</c>: uploads in progress, one folder each.</summary>
    public static string Staging(string checkpointRoot) => Path.Combine(Root(checkpointRoot), StagingName);

    /// <summary>Flushes a folder's entries (a rename into or out of it) to disk, where the system allows; see <c>DurableFileSystem</c>.</summary>
    public static void FlushDirectory(string directory) => Checkpoints.DurableFileSystem.FlushDirectory(directory);

    /// <summary>The id a dataset folder's name stands for, or null for anything else there (the staging folder).</summary>
    public static Guid? IdOf(string folderName) =>
        folderName.Length == 32 && Guid.TryParseExact(folderName, "N", out var id) ? id : null;
}
