using TrainingService.Contracts.Datasets;

namespace TrainingService.Models.Data;

/// <summary>
/// The payload of one IDX file as read by <see cref="IdxReader"/>. Kept as flat bytes, exactly as
/// stored, so that callers can hand the buffer to a tensor without per-sample objects or copies.
/// </summary>
public sealed class IdxContent
{
    internal IdxContent(IdxHeader header, byte[] data, string md5, string sha256)
    {
        Kind = header.Kind;
        Count = header.Count;
        Rows = header.Rows;
        Columns = header.Columns;
        Data = data;
        ContentLength = header.ContentLength;
        Md5 = md5;
        Sha256 = sha256;
    }

    public IdxFileKind Kind { get; }

    /// <summary>Number of images or labels.</summary>
    public int Count { get; }

    /// <summary>Image height in pixels; 0 for labels.</summary>
    public int Rows { get; }

    /// <summary>Image width in pixels; 0 for labels.</summary>
    public int Columns { get; }

    /// <summary>
    /// Images: <c>Count × Rows × Columns</c> pixels, one byte each, image after image in row-major order.
    /// Labels: <c>Count</c> bytes, each below the class count.
    /// </summary>
    public byte[] Data { get; }

    /// <summary>Length of the decompressed IDX content, header included.</summary>
    public long ContentLength { get; }

    /// <summary>MD5 of the decompressed IDX content (header included), lowercase hex: what MNIST's and Fashion-MNIST's publishers give.</summary>
    public string Md5 { get; }

    /// <summary>SHA-256 of the decompressed IDX content (header included), lowercase hex: what an uploaded dataset is checked by.</summary>
    public string Sha256 { get; }
}
