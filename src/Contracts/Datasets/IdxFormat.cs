using System.Buffers.Binary;

namespace TrainingService.Contracts.Datasets;

/// <summary>
/// A structural problem with IDX content: the message says what is wrong, without the file's name
/// (the reader that knows the file adds it). Torch-free, so the API's upload validation and the
/// worker's loader report the same problems in the same words.
/// </summary>
public sealed class IdxFormatException(string problem) : Exception(problem);

/// <summary>The header of an IDX file of unsigned bytes: images (three dimensions) or labels (one).</summary>
/// <param name="Kind">Images or labels, as its magic number says.</param>
/// <param name="Count">Number of images or labels the header declares.</param>
/// <param name="Rows">Image height; 0 for labels.</param>
/// <param name="Columns">Image width; 0 for labels.</param>
public readonly record struct IdxHeader(IdxFileKind Kind, int Count, int Rows, int Columns)
{
    /// <summary>Bytes of one item: an image's pixels, or one label.</summary>
    public long ItemLength => Kind == IdxFileKind.Images ? (long)Rows * Columns : 1;

    /// <summary>Bytes of data the header declares (it cannot overflow: count and both sides are below 2³¹).</summary>
    public long DataLength => Count * ItemLength;

    /// <summary>The whole content the header declares, header included.</summary>
    public long ContentLength => IdxFormat.HeaderLength(Kind) + DataLength;
}

/// <summary>
/// The IDX format as MNIST uses it (yann.lecun.com/exdb/mnist): a big-endian header — magic number
/// (0x0000 0803 for three-dimensional unsigned bytes, 0x0000 0801 for one-dimensional), then the
/// size of each dimension — and the bytes, row-major.
/// </summary>
public static class IdxFormat
{
    /// <summary>Magic number of an IDX file of unsigned bytes with three dimensions (images).</summary>
    public const int ImagesMagic = 0x0000_0803;

    /// <summary>Magic number of an IDX file of unsigned bytes with one dimension (labels).</summary>
    public const int LabelsMagic = 0x0000_0801;

    public const int ImagesHeaderLength = 16; // magic, count, rows, columns
    public const int LabelsHeaderLength = 8;  // magic, count

    public static int HeaderLength(IdxFileKind kind) => kind == IdxFileKind.Images ? ImagesHeaderLength : LabelsHeaderLength;

    public static int MagicOf(IdxFileKind kind) => kind == IdxFileKind.Images ? ImagesMagic : LabelsMagic;

    /// <summary>"images" or "labels".</summary>
    public static string Noun(IdxFileKind kind) => kind == IdxFileKind.Images ? "images" : "labels";

    /// <summary>
    /// Parses the first <paramref name="read"/> bytes of <paramref name="header"/> (as many as the
    /// content had, up to the header's length) as the header of a file of <paramref name="kind"/>.
    /// </summary>
    /// <param name="header">The header's bytes.</param>
    /// <param name="read">How many of them the content had.</param>
    /// <param name="kind">What the file should hold.</param>
    /// <param name="gzip">The content came out of a gzip archive: a short read then most likely means the archive is incomplete, and the message says so.</param>
    /// <exception cref="IdxFormatException">Too short, a wrong magic number, a negative count or an image side below 1.</exception>
    public static IdxHeader ParseHeader(ReadOnlySpan<byte> header, int read, IdxFileKind kind, bool gzip)
    {
        if (read < sizeof(int))
            throw new IdxFormatException($"too short for an IDX header: {read} bytes{GzipHint(gzip)}");

        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        int expectedMagic = MagicOf(kind);
        if (magic != expectedMagic)
            throw new IdxFormatException(
                $"wrong magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} (IDX {Noun(kind)}){DescribeMagic(magic)}");

        int length = HeaderLength(kind);
        if (read < length)
            throw new IdxFormatException($"truncated header: expected {length} bytes, got {read}{GzipHint(gzip)}");

        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count < 0)
            throw new IdxFormatException($"header declares a negative number of {Noun(kind)} ({count})");
        if (kind == IdxFileKind.Labels)
            return new IdxHeader(kind, count, 0, 0);

        int rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        int columns = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (rows < 1 || columns < 1)
            throw new IdxFormatException($"images are {rows}×{columns}: both sides must be at least 1 pixel");
        return new IdxHeader(kind, count, rows, columns);
    }

    /// <summary>
    /// The index of the first label in <paramref name="labels"/> that is not below
    /// <paramref name="classCount"/>, or -1 when all are.
    /// </summary>
    public static int FirstLabelOutOfRange(ReadOnlySpan<byte> labels, int classCount) =>
        classCount >= 256 ? -1 : labels.IndexOfAnyExceptInRange((byte)0, (byte)(classCount - 1));

    /// <summary>"label 10 at index 2 is outside 0..9".</summary>
    public static string LabelOutOfRange(byte label, long index, int classCount) =>
        $"label {label} at index {index} is outside 0..{classCount - 1}";

    /// <summary>
    /// .NET's GZipStream ends quietly at the end of a cut-off archive instead of failing, so a short
    /// read from a gzip file is most likely an incomplete archive; this says so.
    /// </summary>
    public static string GzipHint(bool gzip) => gzip ? " (the gzip archive is probably incomplete)" : "";

    private static string DescribeMagic(int magic) => magic switch
    {
        ImagesMagic => ": this is an IDX images file",
        LabelsMagic => ": this is an IDX labels file",
        _ => "",
    };

    /// <summary>True when <paramref name="start"/> begins with gzip's magic bytes (1f 8b): content decides, not a file name.</summary>
    public static bool IsGzip(ReadOnlySpan<byte> start) => start.Length >= 2 && start[0] == 0x1f && start[1] == 0x8b;
}
