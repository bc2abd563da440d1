using System.IO.Compression;
using TrainingService.Contracts.Datasets;

namespace TrainingService.Models.Data;

/// <summary>Opens an IDX file as its decompressed content, whether it is stored raw or gzipped.</summary>
internal static class IdxSource
{
    /// <summary>Opens <paramref name="path"/>; the returned stream yields the decompressed content.</summary>
    public static Stream OpenContent(string path, out bool isGzip)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read,
            bufferSize: 1 << 16, FileOptions.SequentialScan);
        try
        {
            isGzip = StartsWithGzipMagic(file);
            return isGzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: false) : file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static bool StartsWithGzipMagic(FileStream file)
    {
        Span<byte> start = stackalloc byte[2];
        int read = file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        file.Position = 0;
        // Decided by content rather than extension: people gunzip files and keep the name, or
        // mirrors serve raw content under a .gz name, and either way the reader should cope.
        return IdxFormat.IsGzip(start[..read]);
    }
}
