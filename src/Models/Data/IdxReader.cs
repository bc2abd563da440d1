using System.Security.Cryptography;
using TrainingService.Contracts.Datasets;

namespace TrainingService.Models.Data;

/// <summary>
/// Reads and validates IDX files of unsigned bytes (raw or gzip-compressed): images of a given
/// size, or labels below a given class count. Every structural problem is reported as a
/// <see cref="DatasetFileException"/> naming the file, because a half-read or misinterpreted data
/// set would otherwise surface much later as a baffling training result.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic number of an IDX file of unsigned bytes with three dimensions (images).</summary>
    public const int ImagesMagic = IdxFormat.ImagesMagic;

    /// <summary>Magic number of an IDX file of unsigned bytes with one dimension (labels).</summary>
    public const int LabelsMagic = IdxFormat.LabelsMagic;

    // Large enough that per-call overhead vanishes, small enough that each chunk is still in
    // cache when it is hashed right after being read.
    private const int ChunkSize = 1 << 20;

    /// <summary>Reads an MNIST images file; the images must be 28×28.</summary>
    public static IdxContent ReadImages(string path) => Read(path, IdxFileKind.Images, ImageGeometry.Mnist);

    /// <summary>Reads an MNIST labels file; every label must be 0..9.</summary>
    public static IdxContent ReadLabels(string path) => Read(path, IdxFileKind.Labels, ImageGeometry.Mnist);

    /// <summary>
    /// Reads an IDX file of the given kind in one pass, computing the MD5 and SHA-256 of its
    /// decompressed content on the way so that verification needs no second read.
    /// </summary>
    /// <param name="geometry">Images must be its size; labels must be below its class count.</param>
    /// <exception cref="DatasetFileException">The file is not a valid IDX file of that kind and geometry.</exception>
    public static IdxContent Read(string path, IdxFileKind kind, ImageGeometry geometry)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(geometry);
        using var content = IdxSource.OpenContent(path, out bool isGzip);
        // MD5 because that is what MNIST and Fashion-MNIST publish (integrity, not authenticity);
        // SHA-256 because that is what an upload is recorded with.
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            return ReadContent(kind, geometry, content, isGzip, new Hashes(md5, sha256));
        }
        catch (IdxFormatException ex)
        {
            throw new DatasetFileException(path, ex.Message, ex);
        }
        catch (InvalidDataException ex)
        {
            // GZipStream's own message ("unsupported compression method") misleads more than it helps.
            throw new DatasetFileException(path, "corrupt gzip data: the file cannot be decompressed", ex);
        }
    }

    private readonly record struct Hashes(IncrementalHash Md5, IncrementalHash Sha256)
    {
        public void Append(ReadOnlySpan<byte> data)
        {
            Md5.AppendData(data);
            Sha256.AppendData(data);
        }
    }

    private static IdxContent ReadContent(IdxFileKind kind, ImageGeometry geometry, Stream content, bool isGzip, Hashes hashes)
    {
        string noun = IdxFormat.Noun(kind);
        Span<byte> headerBytes = stackalloc byte[IdxFormat.HeaderLength(kind)];
        int headerRead = ReadFully(content, headerBytes, hashes);
        IdxHeader header = IdxFormat.ParseHeader(headerBytes, headerRead, kind, isGzip);

        if (kind == IdxFileKind.Images && (header.Rows != geometry.Rows || header.Columns != geometry.Columns))
            throw new IdxFormatException($"images are {header.Rows}×{header.Columns}, expected {geometry.Rows}×{geometry.Columns}");

        long dataLength = header.DataLength;
        if (dataLength > Array.MaxLength)
            throw new IdxFormatException($"header declares {header.Count} {noun} ({dataLength} bytes), more than fits in memory as one array");

        // Uninitialized is safe: every byte is either overwritten by the read or the array is discarded.
        byte[] data = GC.AllocateUninitializedArray<byte>((int)dataLength);
        int dataRead = ReadFully(content, data, hashes);
        if (dataRead < dataLength)
        {
            throw new IdxFormatException(
                $"truncated: the header declares {header.Count} {noun}, which needs {dataLength} bytes of data, " +
                $"but only {dataRead} bytes follow the header{IdxFormat.GzipHint(isGzip)}");
        }

        // Trailing bytes usually mean a wrong or concatenated file; accepting them silently would hide that.
        long extra = CountRemaining(content, hashes);
        if (extra > 0)
            throw new IdxFormatException($"{extra} unexpected trailing bytes after the {dataLength} bytes of data the header declares ({header.Count} {noun})");

        if (kind == IdxFileKind.Labels && IdxFormat.FirstLabelOutOfRange(data, geometry.ClassCount) is var bad and >= 0)
            throw new IdxFormatException(IdxFormat.LabelOutOfRange(data[bad], bad, geometry.ClassCount));

        return new IdxContent(header, data,
            Convert.ToHexStringLower(hashes.Md5.GetHashAndReset()), Convert.ToHexStringLower(hashes.Sha256.GetHashAndReset()));
    }

    /// <summary>Fills as much of <paramref name="buffer"/> as the stream has, hashing what it reads.</summary>
    private static int ReadFully(Stream stream, Span<byte> buffer, Hashes hashes)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            Span<byte> chunk = buffer.Slice(total, Math.Min(ChunkSize, buffer.Length - total));
            int read = stream.Read(chunk);
            if (read == 0)
                break;
            hashes.Append(chunk[..read]);
            total += read;
        }

        return total;
    }

    private static long CountRemaining(Stream stream, Hashes hashes)
    {
        Span<byte> scratch = stackalloc byte[4096];
        long total = 0;
        int read;
        while ((read = stream.Read(scratch)) > 0)
        {
            hashes.Append(scratch[..read]);
            total += read;
        }

        return total;
    }
}
