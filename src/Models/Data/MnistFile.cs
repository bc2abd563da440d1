namespace TrainingService.Models.Data;

/// <summary>What an IDX file in the MNIST set holds.</summary>
public enum MnistFileKind
{
    Images,
    Labels,
}

/// <summary>
/// One of the four official MNIST files, described by its decompressed content: mirrors have
/// recompressed the archives over the years, so only the content (not the .gz container) has
/// a stable size and checksum.
/// </summary>
/// <param name="BaseName">Name without extension, e.g. <c>train-images-idx3-ubyte</c>.</param>
/// <param name="Kind">Whether the file holds images or labels.</param>
/// <param name="Split">The split the file belongs to.</param>
/// <param name="Count">Number of images or labels in the file.</param>
/// <param name="DecompressedSize">Size in bytes of the decompressed IDX content, header included.</param>
/// <param name="Md5">MD5 of the decompressed content, lowercase hex.</param>
public sealed record MnistFile(
    string BaseName,
    MnistFileKind Kind,
    MnistSplit Split,
    int Count,
    long DecompressedSize,
    string Md5)
{
    /// <summary>The name mirrors publish the file under, and the name the downloader stores it as.</summary>
    public string GzipName => BaseName + ".gz";
}
