using TrainingService.Contracts.Datasets;

namespace TrainingService.Models.Data;

/// <summary>Loads an MNIST split from a folder holding the official files: <see cref="DatasetLoader"/> for <see cref="DatasetCatalog.Mnist"/>.</summary>
public static class MnistLoader
{
    /// <inheritdoc cref="DatasetLoader.Load"/>
    public static RawSplit Load(string directory, DatasetSplit split, bool verifyChecksums = true) =>
        DatasetLoader.Load(directory, DatasetCatalog.Mnist, split, verifyChecksums);

    /// <summary>The path <paramref name="file"/> would be loaded from, or null if it is not there.</summary>
    internal static string? FindFile(string directory, IdxFileInfo file) => DatasetLoader.FindFile(directory, file);
}
