using System.Buffers;
using System.IO.Compression;
using System.Security.Cryptography;
using TrainingService.Contracts.Datasets;

namespace TrainingService.Api.Datasets;

/// <summary>An upload's file is larger than a limit allows: answered 413, not 400.</summary>
public sealed class UploadTooLargeException(string message) : Exception(message);

/// <summary>One IDX file of an upload as written to its staging folder: its header, digest, and which labels it holds.</summary>
/// <param name="Header">What its header declares.</param>
/// <param name="Sha256">SHA-256 of its decompressed content, lowercase hex.</param>
/// <param name="FirstIndexOfLabel">For labels: the index where each value 0..255 first occurs, or -1 (so a label range known only later can be checked).</param>
public sealed record StagedIdxFile(IdxHeader Header, string Sha256, long[]? FirstIndexOfLabel)
{
    /// <summary>The first label at or above <paramref name="classCount"/>, as (label, index), or null when all are below it.</summary>
    public (byte Label, long Index)? FirstLabelNotBelow(int classCount) =>
        FirstIndexOfLabel is null ? null
        : Enumerable.Range(classCount, Math.Max(0, 256 - classCount))
            .Where(label => FirstIndexOfLabel[label] >= 0)
            .Select(label => ((byte)label, FirstIndexOfLabel[label]))
            .OrderBy(found => found.Item2)
            .Cast<(byte, long)?>()
            .FirstOrDefault();
}

/// <summary>
/// Streams one IDX file of an upload — raw or gzip, decided by its first bytes — into a file,
/// checking it on the way: the magic number and dimensions, the header's claim against the
/// remaining budget before any data is written, exactly the bytes it claims (fewer: truncated;
/// more: refused as soon as one more byte is decompressed, so a gzip bomb costs at most what its
/// header claims), its SHA-256, and for labels which values occur. Writes decompressed content,
/// so the worker reads it without decompressing and its digest is the content's.
/// </summary>
public static class IdxPartWriter
{
    private const int BufferSize = 1 << 16;

    /// <param name="part">The part's body as it arrives.</param>
    /// <param name="kind">What the part should hold.</param>
    /// <param name="path">The staging file to write, which must not exist yet.</param>
    /// <param name="cancellationToken">The request's.</param>
    /// <param name="budget">Decompressed bytes this file may hold at most (header included): what is left of <c>Datasets:MaxDatasetBytes</c>.</param>
    /// <exception cref="IdxFormatException">The content is not a valid IDX file of <paramref name="kind"/>, or is not valid gzip.</exception>
    /// <exception cref="UploadTooLargeException">Its header claims more than <paramref name="budget"/>.</exception>
    public static async Task<StagedIdxFile> WriteAsync(Stream part, IdxFileKind kind, string path, long budget, CancellationToken cancellationToken)
    {
        var start = new byte[2];
        var startRead = await part.ReadAtLeastAsync(start, start.Length, throwOnEndOfStream: false, cancellationToken);
        var gzip = IdxFormat.IsGzip(start.AsSpan(0, startRead));
        Stream content = new PrefixedStream(start.AsMemory(0, startRead), part);
        if (gzip)
            content = new GZipStream(content, CompressionMode.Decompress, leaveOpen: true);
        try
        {
            await using (content)
                return await CopyAsync(content, kind, path, budget, gzip, cancellationToken);
        }
        catch (InvalidDataException e)
        {
            throw new IdxFormatException($"corrupt gzip data: the content cannot be decompressed ({e.Message.TrimEnd('.')})");
        }
    }

    private static async Task<StagedIdxFile> CopyAsync(Stream content, IdxFileKind kind, string path, long budget, bool gzip, CancellationToken cancellationToken)
    {
        var headerBytes = new byte[IdxFormat.HeaderLength(kind)];
        var headerRead = await content.ReadAtLeastAsync(headerBytes, headerBytes.Length, throwOnEndOfStream: false, cancellationToken);
        var header = IdxFormat.ParseHeader(headerBytes, headerRead, kind, gzip);
        var noun = IdxFormat.Noun(kind);
        if (header.Count == 0)
            throw new IdxFormatException($"the header declares no {noun}: a split needs at least one");
        if (header.ContentLength > budget)
            throw new UploadTooLargeException(
                $"its header declares {header.Count} {noun}{(kind == IdxFileKind.Images ? $" of {header.Rows}×{header.Columns}" : "")}, {header.ContentLength:N0} bytes, " +
                $"more than the {budget:N0} bytes left of the upload's limit (Datasets:MaxDatasetBytes); nothing was stored");
        // What a worker can hold as one array: the loader refuses more, so the upload does too.
        if (header.DataLength > Array.MaxLength)
            throw new UploadTooLargeException($"its header declares {header.DataLength:N0} bytes of {noun}, more than one file may hold ({Array.MaxLength:N0})");

        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long[]? firstIndexOfLabel = kind == IdxFileKind.Labels ? Enumerable.Repeat(-1L, 256).ToArray() : null;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous);
            sha256.AppendData(headerBytes);
            await file.WriteAsync(headerBytes, cancellationToken);
            long written = 0;
            while (written < header.DataLength)
            {
                var read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(BufferSize, header.DataLength - written)), cancellationToken);
                if (read == 0)
                    throw new IdxFormatException(
                        $"truncated: the header declares {header.Count} {noun}, which needs {header.DataLength} bytes of data, " +
                        $"but only {written} bytes follow the header{IdxFormat.GzipHint(gzip)}");
                var chunk = buffer.AsMemory(0, read);
                if (firstIndexOfLabel is not null)
                    NoteLabels(chunk.Span, written, firstIndexOfLabel);
                sha256.AppendData(chunk.Span);
                await file.WriteAsync(chunk, cancellationToken);
                written += read;
            }

            // One byte more is enough to refuse: never decompress beyond what the header claims.
            if (await content.ReadAsync(buffer.AsMemory(0, 1), cancellationToken) > 0)
                throw new IdxFormatException(
                    $"unexpected bytes after the {header.DataLength} bytes of data the header declares ({header.Count} {noun}): the content is longer than its header says");
            await file.FlushAsync(cancellationToken);
            file.Flush(flushToDisk: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return new StagedIdxFile(header, Convert.ToHexStringLower(sha256.GetHashAndReset()), firstIndexOfLabel);
    }

    private static void NoteLabels(ReadOnlySpan<byte> labels, long offset, long[] firstIndexOfLabel)
    {
        for (var i = 0; i < labels.Length; i++)
        {
            if (firstIndexOfLabel[labels[i]] < 0)
                firstIndexOfLabel[labels[i]] = offset + i;
        }
    }

    /// <summary>The bytes already read to sniff the format, then the rest of the part.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : ReadOnlyStream
    {
        private ReadOnlyMemory<byte> prefix = prefix;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (prefix.IsEmpty)
                return await rest.ReadAsync(buffer, cancellationToken);
            var count = Math.Min(prefix.Length, buffer.Length);
            prefix[..count].CopyTo(buffer);
            prefix = prefix[count..];
            return count;
        }
    }
}
