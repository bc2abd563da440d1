using System.Buffers.Binary;
using System.Security.Cryptography;

namespace TrainingService.Models.Data;

/// <summary>
/// Reads and validates MNIST IDX files (raw or gzip-compressed). Every structural problem is
/// reported as an <see cref="MnistDataException"/> naming the file, because a half-read or
/// misinterpreted data set would otherwise surface much later as a baffling training result.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic number of an IDX file of unsigned bytes with three dimensions (images).</summary>
    public const int ImagesMagic = 0x0000_0803;

    /// <summary>Magic number of an IDX file of unsigned bytes with one dimension (labels).</summary>
    public const int LabelsMagic = 0x0000_0801;

    private const int ImagesHeaderLength = 16; // magic, count, rows, columns
    private const int LabelsHeaderLength = 8;  // magic, count

    // Large enough that per-call overhead vanishes, small enough that each chunk is still in
    // cache when it is hashed right after being read.
    private const int ChunkSize = 1 << 20;

    /// <summary>Reads an images file; the images must be 28×28.</summary>
    public static IdxContent ReadImages(string path) => Read(path, MnistFileKind.Images);

    /// <summary>Reads a labels file; every label must be 0..9.</summary>
    public static IdxContent ReadLabels(string path) => Read(path, MnistFileKind.Labels);

    /// <summary>
    /// Reads an IDX file of the given kind in one pass, computing the MD5 of its decompressed
    /// content on the way so that checksum verification needs no second read.
    /// </summary>
    /// <exception cref="MnistDataException">The file is not a valid MNIST IDX file of that kind.</exception>
    public static IdxContent Read(string path, MnistFileKind kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var content = IdxSource.OpenContent(path, out bool isGzip);
        // MD5 because that is what MNIST publishes; this checks integrity, not authenticity.
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        try
        {
            return ReadContent(path, kind, content, isGzip, md5);
        }
        catch (InvalidDataException ex)
        {
            // GZipStream's own message ("unsupported compression method") misleads more than it helps.
            throw new MnistDataException(path, "corrupt gzip data: the file cannot be decompressed", ex);
        }
    }

    private static IdxContent ReadContent(string path, MnistFileKind kind, Stream content, bool isGzip, IncrementalHash md5)
    {
        string noun = kind == MnistFileKind.Images ? "images" : "labels";
        int headerLength = kind == MnistFileKind.Images ? ImagesHeaderLength : LabelsHeaderLength;
        Span<byte> header = stackalloc byte[headerLength];
        int headerRead = ReadFully(content, header, md5);
        if (headerRead < sizeof(int))
        {
            throw new MnistDataException(path, $"too short for an IDX header: {headerRead} bytes{GzipHint(isGzip)}");
        }

        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        int expectedMagic = kind == MnistFileKind.Images ? ImagesMagic : LabelsMagic;
        if (magic != expectedMagic)
        {
            throw new MnistDataException(path,
                $"wrong magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} (IDX {noun}){DescribeMagic(magic)}");
        }

        if (headerRead < headerLength)
        {
            throw new MnistDataException(path,
                $"truncated header: expected {headerLength} bytes, got {headerRead}{GzipHint(isGzip)}");
        }

        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count < 0)
        {
            throw new MnistDataException(path, $"header declares a negative number of {noun} ({count})");
        }

        long itemSize = 1;
        if (kind == MnistFileKind.Images)
        {
            int rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
            int columns = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
            if (rows != MnistCatalog.ImageRows || columns != MnistCatalog.ImageColumns)
            {
                throw new MnistDataException(path,
                    $"images are {rows}×{columns}, expected {MnistCatalog.ImageRows}×{MnistCatalog.ImageColumns}");
            }

            itemSize = MnistCatalog.PixelsPerImage;
        }

        long dataLength = count * itemSize;
        if (dataLength > Array.MaxLength)
        {
            throw new MnistDataException(path,
                $"header declares {count} {noun} ({dataLength} bytes), more than fits in memory as one array");
        }

        // Uninitialized is safe: every byte is either overwritten by the read or the array is discarded.
        byte[] data = GC.AllocateUninitializedArray<byte>((int)dataLength);
        int dataRead = ReadFully(content, data, md5);
        if (dataRead < dataLength)
        {
            throw new MnistDataException(path,
                $"truncated: the header declares {count} {noun}, which needs {dataLength} bytes of data, " +
                $"but only {dataRead} bytes follow the header{GzipHint(isGzip)}");
        }

        // Trailing bytes usually mean a wrong or concatenated file; accepting them silently would hide that.
        long extra = CountRemaining(content, md5);
        if (extra > 0)
        {
            throw new MnistDataException(path,
                $"{extra} unexpected trailing bytes after the {dataLength} bytes of data the header declares ({count} {noun})");
        }

        if (kind == MnistFileKind.Labels)
        {
            int bad = data.AsSpan().IndexOfAnyExceptInRange((byte)0, (byte)9);
            if (bad >= 0)
            {
                throw new MnistDataException(path, $"label {data[bad]} at index {bad} is outside 0..9");
            }
        }

        return new IdxContent(kind, count, data, headerLength + dataLength,
            Convert.ToHexStringLower(md5.GetHashAndReset()));
    }

    /// <summary>Fills as much of <paramref name="buffer"/> as the stream has, hashing what it reads.</summary>
    private static int ReadFully(Stream stream, Span<byte> buffer, IncrementalHash hash)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            Span<byte> chunk = buffer.Slice(total, Math.Min(ChunkSize, buffer.Length - total));
            int read = stream.Read(chunk);
            if (read == 0)
            {
                break;
            }

            hash.AppendData(chunk[..read]);
            total += read;
        }

        return total;
    }

    private static long CountRemaining(Stream stream, IncrementalHash hash)
    {
        Span<byte> scratch = stackalloc byte[4096];
        long total = 0;
        int read;
        while ((read = stream.Read(scratch)) > 0)
        {
            hash.AppendData(scratch[..read]);
            total += read;
        }

        return total;
    }

    // .NET's GZipStream ends quietly at the end of a cut-off archive instead of failing, so a
    // short read from a gzip file is most likely an incomplete download; say so.
    private static string GzipHint(bool isGzip) =>
        isGzip ? " (the gzip archive is probably incomplete)" : "";

    private static string DescribeMagic(int magic) => magic switch
    {
        ImagesMagic => ": this is an IDX images file",
        LabelsMagic => ": this is an IDX labels file",
        _ => "",
    };
}
