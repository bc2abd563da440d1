using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using TrainingService.Api.Infrastructure;
using TrainingService.Contracts.Datasets;

namespace TrainingService.Api.Datasets;

/// <summary>What receiving an upload gave: the dataset to record (its files committed to the volume), or the problem to answer with.</summary>
public sealed record UploadOutcome(DatasetRecord? Dataset, ProblemHttpResult? Problem, Dictionary<string, string[]>? Errors);

/// <summary>
/// Receives a <c>POST /datasets</c> body: multipart/form-data, read part by part as it arrives
/// (never buffered whole), each IDX file streamed through <see cref="IdxPartWriter"/> into a
/// staging folder of its own. Only when every part and every check across them passed is the
/// folder renamed into place; any failure, refusal or dropped connection removes it, so a bad
/// upload leaves nothing on the volume (and nothing is recorded, since the caller records only a
/// dataset this returns).
/// </summary>
public static class DatasetUpload
{
    private const int MaxParts = 16;
    private const int MaxBoundaryLength = 70; // RFC 2046

    public static async Task<UploadOutcome> ReceiveAsync(
        HttpRequest request, DatasetOptions options, DatasetVolume volume, string? owner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(contentType.Boundary).Value is not { Length: > 0 and <= MaxBoundaryLength } boundary)
            return Refused(TypedResults.Problem(
                $"Send the dataset as multipart/form-data with a boundary, its four IDX files (raw or gzip) as the parts {string.Join(", ", UploadForm.Files.Select(f => f.Field))}"
                + (request.ContentType is null ? "; the request has no Content-Type." : $"; got Content-Type '{Problems.Shorten(request.ContentType)}'."),
                statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type"));
        if (request.ContentLength > options.MaxUploadBytes)
            return Refused(TooLarge($"The request body is {request.ContentLength:N0} bytes, more than the {options.MaxUploadBytes:N0} an upload may be (Datasets:MaxUploadBytes)."));

        // Kestrel's own limit (30 MB) is for ordinary requests; this one counts its bytes itself.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
            sizeLimit.MaxRequestBodySize = null;

        var staging = volume.CreateStagingFolder();
        var committed = false;
        try
        {
            var received = await ReadPartsAsync(new CountingStream(request.Body, options.MaxUploadBytes), boundary, staging, options, cancellationToken);
            if (received.Problem is not null || received.Errors is not null)
                return received;
            var dataset = received.Dataset! with { Id = Guid.CreateVersion7(now), Owner = owner, CreatedAt = now };
            volume.Commit(staging, dataset.Id);
            committed = true; // the folder is the dataset's now: the caller records it, or removes it
            return new UploadOutcome(dataset, null, null);
        }
        catch (UploadTooLargeException e)
        {
            return Refused(TooLarge(e.Message));
        }
        catch (MalformedUploadException e)
        {
            return new UploadOutcome(null, null, new() { [JsonRequestBody.BodyKey] = [$"Malformed multipart/form-data body: {e.Message}"] });
        }
        finally
        {
            if (!committed)
                DatasetVolume.Remove(staging);
        }
    }

    private static async Task<UploadOutcome> ReadPartsAsync(Stream body, string boundary, string staging, DatasetOptions options, CancellationToken cancellationToken)
    {
        var reader = new MultipartReader(boundary, body) { HeadersCountLimit = 16, HeadersLengthLimit = 16 * 1024 };
        var errors = new FieldErrors();
        var files = new Dictionary<string, StagedIdxFile>(StringComparer.Ordinal);
        var text = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long used = 0;
        var parts = 0;
        while (await MalformedUploadException.Translate(() => reader.ReadNextSectionAsync(cancellationToken), cancellationToken) is { } section)
        {
            var part = new PartStream(section.Body, cancellationToken);
            if (++parts > MaxParts)
                return new UploadOutcome(null, null, new() { [JsonRequestBody.BodyKey] = [$"At most {MaxParts} parts; an upload has four files and up to three text fields."] });
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase)
                || HeaderUtilities.RemoveQuotes(disposition.Name).Value is not { Length: > 0 } field)
            {
                errors.Add(JsonRequestBody.BodyKey, $"Part {parts} has no Content-Disposition: form-data with a name.");
                continue;
            }
            if (!UploadForm.FieldNames.Contains(field))
            {
                errors.Add(Problems.Shorten(field), $"Not a field of an upload; the fields are {string.Join(", ", UploadForm.FieldNames)}.");
                continue;
            }
            if (!seen.Add(field))
            {
                errors.Add(field, "Given more than once.");
                continue;
            }
            if (UploadForm.Files.FirstOrDefault(f => f.Field == field) is { Field: not null } file)
            {
                try
                {
                    var staged = await IdxPartWriter.WriteAsync(part, file.Kind, Path.Combine(staging, file.BaseName), options.MaxDatasetBytes - used, cancellationToken);
                    files[field] = staged;
                    used += staged.Header.ContentLength;
                }
                catch (IdxFormatException e)
                {
                    errors.Add(field, e.Message);
                }
                catch (UploadTooLargeException e)
                {
                    throw new UploadTooLargeException($"{field}: {e.Message}");
                }
            }
            else if (await ReadTextAsync(part, cancellationToken) is { } value)
                text[field] = value;
            else
                errors.Add(field, $"At most {UploadForm.MaxTextFieldBytes} bytes of UTF-8 text.");
        }

        foreach (var missing in UploadForm.Files.Where(f => !seen.Contains(f.Field)))
            errors.Add(missing.Field, $"Required: the {(missing.Split == DatasetSplit.Train ? "training" : "test")} {IdxFormat.Noun(missing.Kind)} as an IDX file (raw or gzip), like MNIST's {missing.BaseName}.");
        var (name, classCount, classNames) = UploadForm.ParseText(text, errors);
        if (files.Count == UploadForm.Files.Count)
            UploadForm.CheckTogether(files, classCount, errors);
        if (errors.Any)
            return new UploadOutcome(null, null, errors.ToDictionary());

        var images = files[UploadForm.FieldOf(DatasetSplit.Train, IdxFileKind.Images)].Header;
        IdxFileInfo[] infos = [.. UploadForm.Files.Select(f => new IdxFileInfo(
            f.BaseName, f.Kind, f.Split, files[f.Field].Header.Count, files[f.Field].Header.ContentLength, Sha256: files[f.Field].Sha256))];
        return new UploadOutcome(new DatasetRecord
        {
            Id = Guid.Empty, // given on commit
            Name = name,
            Geometry = new ImageGeometry(images.Rows, images.Columns, 1, classCount),
            ClassNames = classNames,
            Files = infos,
            Digest = DatasetRecord.DigestOf(infos),
            CreatedAt = default,
        }, null, null);
    }

    /// <summary>A text part, or null when it is longer than a text field may be.</summary>
    private static async Task<string?> ReadTextAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new byte[UploadForm.MaxTextFieldBytes + 1];
        var read = await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        return read > UploadForm.MaxTextFieldBytes ? null : Encoding.UTF8.GetString(buffer, 0, read);
    }

    private static UploadOutcome Refused(ProblemHttpResult problem) => new(null, problem, null);

    private static ProblemHttpResult TooLarge(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Upload too large");

    /// <summary>
    /// The multipart framing is broken (a cut-off body, headers past their limits), as the reader
    /// reports it with an <see cref="IOException"/> or <see cref="InvalidDataException"/>: told apart
    /// from the same exceptions of the disk the files are written to, which are the server's fault.
    /// </summary>
    private sealed class MalformedUploadException(string message, Exception inner) : Exception(message, inner)
    {
        public static async Task<T> Translate<T>(Func<Task<T>> read, CancellationToken cancellationToken)
        {
            try
            {
                return await read();
            }
            catch (Exception e) when (e is IOException or InvalidDataException && !cancellationToken.IsCancellationRequested)
            {
                throw new MalformedUploadException(e.Message, e);
            }
        }
    }

    /// <summary>A part's body, whose framing errors read as <see cref="MalformedUploadException"/>.</summary>
    private sealed class PartStream(Stream inner, CancellationToken requestAborted) : ReadOnlyStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            new(MalformedUploadException.Translate(() => inner.ReadAsync(buffer, cancellationToken).AsTask(), requestAborted));
    }

    /// <summary>The request body, refused once more than <c>limit</c> bytes have come: whatever Content-Length said, or if it said nothing.</summary>
    private sealed class CountingStream(Stream inner, long limit) : ReadOnlyStream
    {
        private long total;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            total += read;
            if (total > limit)
                throw new UploadTooLargeException($"The request body is more than the {limit:N0} bytes an upload may be (Datasets:MaxUploadBytes).");
            return read;
        }
    }
}

/// <summary>A forward-only stream read asynchronously: subclasses give <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>.</summary>
internal abstract class ReadOnlyStream : Stream
{
    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Kestrel refuses synchronous reads of a request body; so do these.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
