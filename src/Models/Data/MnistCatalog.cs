namespace TrainingService.Models.Data;

/// <summary>
/// The official MNIST files with the sizes and checksums of their decompressed content, as
/// published with the data set (and used by torchvision), so that any copy can be checked
/// regardless of where it came from or how it was compressed.
/// </summary>
public static class MnistCatalog
{
    /// <summary>Rows and columns of every MNIST image.</summary>
    public const int ImageRows = 28, ImageColumns = 28;

    /// <summary>Bytes per image: one unsigned byte per pixel, row-major.</summary>
    public const int PixelsPerImage = ImageRows * ImageColumns;

    public static MnistFile TrainImages { get; } = new(
        "train-images-idx3-ubyte", MnistFileKind.Images, MnistSplit.Train,
        60_000, 47_040_016, "6bbc9ace898e44ae57da46a324031adb");

    public static MnistFile TrainLabels { get; } = new(
        "train-labels-idx1-ubyte", MnistFileKind.Labels, MnistSplit.Train,
        60_000, 60_008, "a25bea736e30d166cdddb491f175f624");

    public static MnistFile TestImages { get; } = new(
        "t10k-images-idx3-ubyte", MnistFileKind.Images, MnistSplit.Test,
        10_000, 7_840_016, "2646ac647ad5339dbf082846283269ea");

    public static MnistFile TestLabels { get; } = new(
        "t10k-labels-idx1-ubyte", MnistFileKind.Labels, MnistSplit.Test,
        10_000, 10_008, "27ae3e4e09519cfbb04c329615203637");

    /// <summary>All four files, train before test, images before labels.</summary>
    public static IReadOnlyList<MnistFile> All { get; } = [TrainImages, TrainLabels, TestImages, TestLabels];

    /// <summary>The images and labels files that make up <paramref name="split"/>.</summary>
    public static (MnistFile Images, MnistFile Labels) ForSplit(MnistSplit split) => split switch
    {
        MnistSplit.Train => (TrainImages, TrainLabels),
        MnistSplit.Test => (TestImages, TestLabels),
        _ => throw new ArgumentOutOfRangeException(nameof(split), split, "Unknown MNIST split."),
    };
}
