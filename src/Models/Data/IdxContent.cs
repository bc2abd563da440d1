namespace TrainingService.Models.Data;

/// <summary>
/// The payload of one IDX file as read by <see cref="IdxReader"/>. Kept as flat bytes, exactly as
/// stored, so that callers can hand the buffer to a tensor without per-sample objects or copies.
/// </summary>
public sealed class IdxContent
{
    internal IdxContent(MnistFileKind kind, int count, byte[] data, long contentLength, string md5)
    {
        Kind = kind;
        Count = count;
        Data = data;
        ContentLength = contentLength;
        Md5 = md5;
    }

    public MnistFileKind Kind { get; }

    /// <summary>Number of images or labels.</summary>
    public int Count { get; }

    /// <summary>
    /// Images: <c>Count × 28 × 28</c> pixels, one byte each, image after image in row-major order.
    /// Labels: <c>Count</c> bytes, each 0..9.
    /// </summary>
    public byte[] Data { get; }

    /// <summary>Length of the decompressed IDX content, header included.</summary>
    public long ContentLength { get; }

    /// <summary>MD5 of the decompressed IDX content (header included), lowercase hex.</summary>
    public string Md5 { get; }
}
