using System.Buffers.Binary;
using System.Text.Json;
using static TorchSharp.torch;
using TrainingService.Contracts.Checkpoints;

namespace TrainingService.Models.Checkpoints;

/// <summary>
/// Checks a safetensors file against the model it is meant for, reading only its header, before
/// anything hands it to PyBridge. PyBridge trusts the header: it allocates whatever length the
/// first 8 bytes claim (up to 2 GiB), and <c>load_state_dict</c> copies with <c>copy_</c>, which
/// converts dtypes and broadcasts shapes silently and, on a shape it cannot broadcast, fails after
/// earlier tensors were already overwritten. Everything that could go wrong there is caught here.
/// </summary>
/// <remarks>
/// Format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
/// N bytes of UTF-8 JSON mapping each tensor name to <c>{dtype, shape, data_offsets: [begin, end]}</c>
/// (plus an optional <c>__metadata__</c> object of strings), then the data area, which the offsets,
/// relative to its start, must cover exactly with no gaps or overlaps.
/// </remarks>
public static class SafetensorsValidator
{
    /// <summary>The largest header accepted. Ours are a few KiB (ResNet18's ~10 KiB); 16 MiB leaves room for large models.</summary>
    public const int MaxHeaderBytes = 16 * 1024 * 1024;

    private const string MetadataKey = "__metadata__";
    private const int MaxProblemsReported = 5;

    /// <summary>
    /// Throws <see cref="CheckpointException"/> unless the file at <paramref name="path"/> is a
    /// well-formed safetensors file whose tensors are exactly the model's state dict: the same
    /// keys, and for each the same dtype and shape.
    /// </summary>
    public static void Validate(string path, nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(model);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{Path.GetFileName(path)}: cannot be opened: {e.Message}", e);
        }
        using (stream)
            Validate(stream, Path.GetFileName(path), model);
    }

    /// <summary>
    /// Validates the safetensors file in <paramref name="stream"/> (from its start; seekable),
    /// naming it <paramref name="displayName"/> in errors. Leaves the position undefined.
    /// </summary>
    internal static void Validate(Stream stream, string displayName, nn.Module model)
    {
        var fileLength = stream.Length;
        if (fileLength < sizeof(ulong))
            throw Fail(displayName, $"truncated: {fileLength} bytes is too short to hold the header length");

        stream.Position = 0;
        Span<byte> lengthBytes = stackalloc byte[sizeof(ulong)];
        stream.ReadExactly(lengthBytes);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);

        // Both checks come before any allocation sized by the header length.
        if (headerLength > MaxHeaderBytes)
            throw Fail(displayName, $"header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes");
        if (headerLength > (ulong)(fileLength - sizeof(ulong)))
            throw Fail(displayName, $"truncated: header length {headerLength} exceeds the {fileLength - sizeof(ulong)} bytes after it");
        if (headerLength < 2)
            throw Fail(displayName, $"header length {headerLength} is too short for a JSON object");

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var dataLength = fileLength - sizeof(ulong) - (long)headerLength;

        JsonDocument document;
        try
        {
            // Real headers nest three deep (object → entry → array); a low limit refuses deliberately deep JSON cheaply.
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Fail(displayName, $"header is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            var problems = CheckHeader(document.RootElement, dataLength, model.state_dict());
            if (problems.Count > 0)
            {
                var shown = string.Join("; ", problems.Take(MaxProblemsReported));
                var more = problems.Count > MaxProblemsReported ? $"; and {problems.Count - MaxProblemsReported} more" : "";
                throw Fail(displayName, shown + more);
            }
        }
    }

    private static List<string> CheckHeader(JsonElement root, long dataLength, Dictionary<string, Tensor> expected)
    {
        var problems = new List<string>();
        if (root.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"header is a JSON {root.ValueKind}, not an object");
            return problems;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var ranges = new List<(long Begin, long End, string Key)>();
        foreach (var entry in root.EnumerateObject())
        {
            var key = entry.Name;
            if (!seen.Add(key))
            {
                // JSON allows repeated names; which one a reader honours is up to the reader, so refuse.
                problems.Add($"key '{key}' appears more than once");
                continue;
            }

            if (key == MetadataKey)
            {
                if (entry.Value.ValueKind != JsonValueKind.Object
                    || entry.Value.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String))
                    problems.Add($"{MetadataKey} must be an object of strings");
                continue;
            }

            if (!expected.TryGetValue(key, out var target))
            {
                problems.Add($"unexpected key '{key}' (not in the model)");
                continue;
            }

            if (!TryReadEntry(entry.Value, out var dtype, out var shape, out var begin, out var end))
            {
                problems.Add($"entry for '{key}' is malformed (needs dtype, shape of non-negative integers, data_offsets [begin, end] with begin <= end)");
                continue;
            }

            var expectedDtype = SafetensorsDtype(target.dtype);
            if (dtype != expectedDtype)
                problems.Add($"dtype of '{key}' is {dtype}, the model has {expectedDtype}");
            if (!shape.AsSpan().SequenceEqual(target.shape))
                problems.Add($"shape of '{key}' is {FormatShape(shape)}, the model has {FormatShape(target.shape)}");

            if (ElementSize(dtype) is not { } elementSize || ByteCount(shape, elementSize) is not { } byteCount)
                problems.Add($"size of '{key}' cannot be computed from dtype {dtype} and shape {FormatShape(shape)}");
            else if (end - begin != byteCount)
                problems.Add($"data of '{key}' spans {end - begin} bytes, dtype × shape needs {byteCount}");

            if (end > dataLength)
                problems.Add($"truncated: data of '{key}' ends at {end}, past the {dataLength}-byte data area");
            ranges.Add((begin, end, key));
        }

        foreach (var key in expected.Keys.Where(k => !seen.Contains(k)))
            problems.Add($"missing key '{key}'");

        // Only worth checking once every tensor is accounted for; otherwise the gaps are just the missing tensors.
        if (problems.Count == 0)
            CheckCoverage(ranges, dataLength, problems);
        return problems;
    }

    /// <summary>The offsets must tile the data area exactly, as the format requires: no holes, no overlaps, no trailing bytes.</summary>
    private static void CheckCoverage(List<(long Begin, long End, string Key)> ranges, long dataLength, List<string> problems)
    {
        long position = 0;
        foreach (var (begin, end, key) in ranges.OrderBy(r => r.Begin).ThenBy(r => r.End))
        {
            if (begin != position)
            {
                problems.Add(begin < position
                    ? $"data of '{key}' overlaps the tensor before it"
                    : $"{begin - position} unused bytes before the data of '{key}'");
                return;
            }
            position = end;
        }
        if (position != dataLength)
            problems.Add($"{dataLength - position} bytes after the last tensor's data");
    }

    private static bool TryReadEntry(JsonElement entry, out string dtype, out long[] shape, out long begin, out long end)
    {
        dtype = "";
        shape = [];
        begin = end = 0;
        if (entry.ValueKind != JsonValueKind.Object
            || !entry.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !entry.TryGetProperty("shape", out var shapeElement) || !TryReadNonNegativeIntegers(shapeElement, out shape)
            || !entry.TryGetProperty("data_offsets", out var offsetsElement) || !TryReadNonNegativeIntegers(offsetsElement, out var offsets)
            || offsets.Length != 2 || offsets[0] > offsets[1])
            return false;
        dtype = dtypeElement.GetString()!;
        (begin, end) = (offsets[0], offsets[1]);
        return true;
    }

    private static bool TryReadNonNegativeIntegers(JsonElement element, out long[] values)
    {
        values = [];
        if (element.ValueKind != JsonValueKind.Array)
            return false;
        var list = new List<long>(element.GetArrayLength());
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var value) || value < 0)
                return false;
            list.Add(value);
        }
        values = [.. list];
        return true;
    }

    private static long? ByteCount(long[] shape, int elementSize)
    {
        try
        {
            long count = elementSize;
            foreach (var dimension in shape)
                count = checked(count * dimension);
            return count;
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    /// <summary>The safetensors name of a TorchSharp dtype; the names PyBridge reads and writes.</summary>
    private static string SafetensorsDtype(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => dtype.ToString(),
    };

    private static int? ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => null,
    };

    private static string FormatShape(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";

    private static CheckpointException Fail(string displayName, string problem, Exception? inner = null) =>
        inner is null
            ? new CheckpointException($"{displayName}: {problem}")
            : new CheckpointException($"{displayName}: {problem}", inner);
}
