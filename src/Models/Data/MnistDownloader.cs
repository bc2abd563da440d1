using System.Buffers.Binary;
using System.Security.Cryptography;
using TrainingService.Contracts.Datasets;

namespace TrainingService.Models.Data;

/// <summary>
/// Fetches the official MNIST files into a folder, trying mirrors in order, and only ever puts a
/// file under its final name once its content has been verified against the catalog.
/// </summary>
public static class MnistDownloader
{
    /// <summary>The mirrors torchvision uses, in its order: the S3 copy first, as the original site has often been unreachable.</summary>
    public static IReadOnlyList<Uri> DefaultMirrors { get; } =
    [
        new("https://ossci-datasets.s3.amazonaws.com/mnist/"),
        new("http://yann.lecun.com/exdb/mnist/"),
    ];

    private const int BufferSize = 1 << 16;

    // Reporting every read would flood a UI-bound IProgress with thousands of updates per file.
    private const long ProgressStep = 256 * 1024;

    // Deflate never grows data by more than a few bytes per 64 KiB block, so anything much larger
    // than the decompressed size is not the file; this stops a misbehaving server from filling the disk.
    private const long MaxOverhead = 1 << 20;

    /// <summary>
    /// Makes sure all four MNIST files are present in <paramref name="directory"/> with the official
    /// content, downloading those that are missing or invalid as <c>&lt;name&gt;.gz</c>. Files that are
    /// already there and valid (as <c>&lt;name&gt;.gz</c> or decompressed as <c>&lt;name&gt;</c>) are not
    /// downloaded again.
    /// </summary>
    /// <param name="mirrors">Base URLs, tried in order for each file; <c>{mirror}{name}.gz</c> is requested.</param>
    /// <exception cref="DatasetFileException">A file could not be obtained from any mirror; the message lists each URL and why it failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; no partial file is left behind.</exception>
    public static async Task EnsureAsync(
        string directory,
        IReadOnlyList<Uri> mirrors,
        HttpClient http,
        IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(mirrors);
        ArgumentNullException.ThrowIfNull(http);
        if (mirrors.Count == 0)
        {
            throw new ArgumentException("At least one mirror is needed.", nameof(mirrors));
        }

        foreach (Uri? mirror in mirrors)
        {
            if (mirror is null || !mirror.IsAbsoluteUri)
            {
                throw new ArgumentException($"Mirror '{mirror}' is not an absolute URL.", nameof(mirrors));
            }
        }

        Directory.CreateDirectory(directory);
        foreach (IdxFileInfo file in MnistCatalog.All)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!IsPresentAndValid(directory, file))
            {
                await DownloadAsync(directory, file, mirrors, http, progress, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsPresentAndValid(string directory, IdxFileInfo file)
    {
        // Check the file the loader would pick, so "valid here" means "loads there".
        string? path = MnistLoader.FindFile(directory, file);
        if (path is null)
        {
            return false;
        }

        try
        {
            VerifyContent(path, file, requireGzip: false);
            return true;
        }
        catch (DatasetFileException)
        {
            // A damaged copy is simply replaced; the fresh .gz takes precedence over a bad raw file.
            return false;
        }
    }

    private static async Task DownloadAsync(
        string directory, IdxFileInfo file, IReadOnlyList<Uri> mirrors, HttpClient http,
        IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        string finalPath = Path.Combine(directory, file.GzipName);
        var failures = new List<Exception>();
        var reasons = new List<string>();
        foreach (Uri mirror in mirrors)
        {
            Uri url = FileUrl(mirror, file);
            // Hidden, unique and in the target folder: concurrent downloaders cannot collide, and the
            // final rename stays on one file system, where it is atomic.
            string tempPath = Path.Combine(directory, $".{file.GzipName}.{Guid.NewGuid():N}.partial");
            try
            {
                await DownloadToFileAsync(url, tempPath, file, http, progress, cancellationToken).ConfigureAwait(false);
                VerifyContent(tempPath, file, requireGzip: true);
                File.Move(tempPath, finalPath, overwrite: true);
                return;
            }
            catch (Exception ex) when (IsMirrorFailure(ex, cancellationToken))
            {
                failures.Add(ex);
                reasons.Add($"{url}: {Describe(ex)}");
            }
            finally
            {
                DeleteQuietly(tempPath);
            }
        }

        throw new DatasetFileException(finalPath,
            "could not be downloaded from any mirror:" + string.Concat(reasons.Select(r => Environment.NewLine + "  " + r)),
            new AggregateException(failures));
    }

    private static async Task DownloadToFileAsync(
        Uri url, string tempPath, IdxFileInfo file, HttpClient http,
        IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await http
            .GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                $"HTTP {(int)response.StatusCode} ({response.ReasonPhrase})", null, response.StatusCode);
        }

        long maxLength = file.DecompressedSize + MaxOverhead;
        long? total = response.Content.Headers.ContentLength;
        if (total > maxLength)
        {
            throw new IOException($"the server announced {total} bytes, far more than the file can be");
        }

        Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            var output = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None,
                BufferSize, FileOptions.Asynchronous);
            await using (output.ConfigureAwait(false))
            {
                var buffer = new byte[BufferSize];
                long received = 0, reported = 0;
                progress?.Report(new DownloadProgress(file.GzipName, 0, total, url));
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    received += read;
                    if (received > maxLength)
                    {
                        throw new IOException($"the server sent more than {maxLength} bytes, far more than the file can be");
                    }

                    if (received - reported >= ProgressStep)
                    {
                        progress?.Report(new DownloadProgress(file.GzipName, received, total, url));
                        reported = received;
                    }
                }

                if (received != reported)
                {
                    progress?.Report(new DownloadProgress(file.GzipName, received, total, url));
                }

                // HttpClient itself fails when a body ends before its Content-Length; checking again
                // costs nothing and does not depend on every handler in the pipeline doing so.
                if (total is long expected && received != expected)
                {
                    throw new IOException($"received {received} bytes, but the server announced {expected}");
                }

                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                // Make the data durable before the rename publishes it, so a crash cannot leave a
                // final-named file with missing contents.
                output.Flush(flushToDisk: true);
            }
        }
    }

    /// <summary>
    /// Checks that the decompressed content of <paramref name="path"/> is exactly the catalog's
    /// content; reading stops early once it is longer than that, so a gzip bomb costs nothing.
    /// </summary>
    private static void VerifyContent(string path, IdxFileInfo expected, bool requireGzip)
    {
        long length = 0;
        string md5;
        bool isGzip;
        try
        {
            using Stream content = IdxSource.OpenContent(path, out isGzip);
            if (requireGzip && !isGzip)
            {
                throw new DatasetFileException(path, "not a gzip file");
            }

            // MD5 because that is what MNIST publishes; this checks integrity, not authenticity.
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            var buffer = new byte[BufferSize];
            int read;
            while (length <= expected.DecompressedSize && (read = content.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                length += read;
            }

            md5 = Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        catch (InvalidDataException ex)
        {
            throw new DatasetFileException(path, "corrupt gzip data: the file cannot be decompressed", ex);
        }

        if (length != expected.DecompressedSize)
        {
            string actual = length > expected.DecompressedSize ? $"more than {expected.DecompressedSize}" : length.ToString();
            throw new DatasetFileException(path,
                $"the decompressed content is {actual} bytes, expected {expected.DecompressedSize}");
        }

        if (md5 != expected.Md5)
        {
            throw new DatasetFileException(path,
                $"checksum mismatch: the MD5 of the decompressed content is {md5}, expected {expected.Md5}");
        }

        if (isGzip)
        {
            VerifyGzipTrailer(path, length);
        }
    }

    /// <summary>
    /// .NET's GZipStream ends quietly when an archive is cut off, even inside its 8-byte trailer,
    /// so the content checks alone would accept an archive that lost its tail (and that gunzip
    /// rejects). The trailer's last field is the content length mod 2^32; for the single-member
    /// archives MNIST is published as, a matching value means the archive is complete (and, being
    /// present, the CRC before it was checked by the decompressor).
    /// </summary>
    private static void VerifyGzipTrailer(string path, long contentLength)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        Span<byte> trailer = stackalloc byte[4];
        const int MinimumGzipLength = 18; // 10-byte header, empty deflate data, 8-byte trailer
        if (file.Length >= MinimumGzipLength)
        {
            file.Position = file.Length - trailer.Length;
            file.ReadExactly(trailer);
            if (BinaryPrimitives.ReadUInt32LittleEndian(trailer) == (uint)contentLength)
            {
                return;
            }
        }

        throw new DatasetFileException(path,
            "incomplete gzip archive: its trailer is missing or does not match the content (cut-off download?)");
    }

    private static Uri FileUrl(Uri mirror, IdxFileInfo file)
    {
        // Plain concatenation, not new Uri(base, relative): a mirror written without its trailing
        // slash would otherwise silently lose its last path segment.
        string root = mirror.AbsoluteUri.EndsWith('/') ? mirror.AbsoluteUri : mirror.AbsoluteUri + "/";
        return new Uri(root + file.GzipName);
    }

    // Failures worth trying the next mirror for. A cancellation the caller asked for is not one
    // of them; a cancellation it did not ask for is HttpClient's timeout.
    private static bool IsMirrorFailure(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        HttpRequestException or IOException or DatasetFileException => true,
        _ => false,
    };

    private static string Describe(Exception ex) => ex switch
    {
        DatasetFileException data => data.Problem,
        OperationCanceledException => "timed out",
        _ => ex.Message,
    };

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: failing here would replace the exception that explains what went wrong.
        }
    }
}
