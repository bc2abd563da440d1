using TrainingService.Contracts.Datasets;

namespace TrainingService.Models.Data;

/// <summary>
/// The official MNIST files, as <see cref="DatasetCatalog.Mnist"/> lists them, by name: what the
/// downloader fetches and checks.
/// </summary>
public static class MnistCatalog
{
    /// <summary>Rows and columns of every MNIST image.</summary>
    public const int ImageRows = 28, ImageColumns = 28;

    /// <summary>Bytes per image: one unsigned byte per pixel, row-major.</summary>
    public const int PixelsPerImage = ImageRows * ImageColumns;

    public static IdxFileInfo TrainImages { get; } = DatasetCatalog.Mnist.File(DatasetSplit.Train, IdxFileKind.Images);

    public static IdxFileInfo TrainLabels { get; } = DatasetCatalog.Mnist.File(DatasetSplit.Train, IdxFileKind.Labels);

    public static IdxFileInfo TestImages { get; } = DatasetCatalog.Mnist.File(DatasetSplit.Test, IdxFileKind.Images);

    public static IdxFileInfo TestLabels { get; } = DatasetCatalog.Mnist.File(DatasetSplit.Test, IdxFileKind.Labels);

    /// <summary>All four files, train before test, images before labels.</summary>
    public static IReadOnlyList<IdxFileInfo> All => DatasetCatalog.Mnist.Files;

    /// <summary>The images and labels files that make up <paramref name="split"/>.</summary>
    public static (IdxFileInfo Images, IdxFileInfo Labels) ForSplit(DatasetSplit split) =>
        (DatasetCatalog.Mnist.File(split, IdxFileKind.Images), DatasetCatalog.Mnist.File(split, IdxFileKind.Labels));
}
