using System.Text.Json.Serialization;

namespace TrainingService.Contracts.Datasets;

/// <summary>What an IDX file of a dataset holds.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<IdxFileKind>))]
public enum IdxFileKind
{
    Images,
    Labels,
}

/// <summary>The two halves of an image dataset; each is an images file plus a labels file.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DatasetSplit>))]
public enum DatasetSplit
{
    Train,
    Test,
}

/// <summary>
/// The shape of a dataset's samples, which decides whether an architecture can take it: image
/// height and width in pixels, colour channels (IDX images are grey: 1), and how many classes the
/// labels name (every label is below it).
/// </summary>
public sealed record ImageGeometry(int Rows, int Columns, int Channels, int ClassCount)
{
    /// <summary>MNIST's and Fashion-MNIST's: 28×28 grey images in 10 classes.</summary>
    public static ImageGeometry Mnist { get; } = new(28, 28, 1, 10);

    /// <summary>Bytes of one image: one unsigned byte per pixel and channel.</summary>
    public long BytesPerImage => (long)Rows * Columns * Channels;

    /// <summary>"28×28 grey images in 10 classes".</summary>
    public override string ToString() =>
        $"{Rows}×{Columns} {(Channels == 1 ? "grey" : $"{Channels}-channel")} images in {ClassCount} classes";
}

/// <summary>
/// One of a dataset's four IDX files, described by its decompressed content: copies get
/// recompressed (mirrors, Debian's package), so only the content has a stable size and digest. A
/// built-in file carries the MD5 its publisher gives for that content; an uploaded one the SHA-256
/// computed when it was uploaded. A loader checks whichever is set.
/// </summary>
/// <param name="BaseName">Name without extension, e.g. <c>train-images-idx3-ubyte</c>.</param>
/// <param name="Kind">Whether the file holds images or labels.</param>
/// <param name="Split">The split the file belongs to.</param>
/// <param name="Count">Number of images or labels in the file.</param>
/// <param name="DecompressedSize">Size in bytes of the decompressed IDX content, header included.</param>
/// <param name="Md5">MD5 of the decompressed content, lowercase hex, or null.</param>
/// <param name="Sha256">SHA-256 of the decompressed content, lowercase hex, or null.</param>
public sealed record IdxFileInfo(
    string BaseName,
    IdxFileKind Kind,
    DatasetSplit Split,
    int Count,
    long DecompressedSize,
    string? Md5 = null,
    string? Sha256 = null)
{
    /// <summary>The name mirrors publish the file under (and the MNIST downloader stores it as).</summary>
    [JsonIgnore]
    public string GzipName => BaseName + ".gz";
}

/// <summary>The names every IDX dataset's four files have, as MNIST named them.</summary>
public static class IdxFileNames
{
    public const string TrainImages = "train-images-idx3-ubyte";
    public const string TrainLabels = "train-labels-idx1-ubyte";
    public const string TestImages = "t10k-images-idx3-ubyte";
    public const string TestLabels = "t10k-labels-idx1-ubyte";

    /// <summary>All four, train before test, images before labels: the order a dataset's digest is taken in.</summary>
    public static IReadOnlyList<(string BaseName, DatasetSplit Split, IdxFileKind Kind)> All { get; } =
    [
        (TrainImages, DatasetSplit.Train, IdxFileKind.Images),
        (TrainLabels, DatasetSplit.Train, IdxFileKind.Labels),
        (TestImages, DatasetSplit.Test, IdxFileKind.Images),
        (TestLabels, DatasetSplit.Test, IdxFileKind.Labels),
    ];

    public static string Of(DatasetSplit split, IdxFileKind kind) =>
        All.Single(f => f.Split == split && f.Kind == kind).BaseName;
}
