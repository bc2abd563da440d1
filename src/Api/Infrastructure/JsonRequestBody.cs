using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace TrainingService.Api.Infrastructure;

/// <summary>What reading a JSON body gave: the value, or the problem to answer with instead.</summary>
public sealed record JsonBody<T>(T? Value, ProblemHttpResult? Problem, Dictionary<string, string[]>? Errors)
    where T : class
{
    public bool IsValid => Value is not null;
}

/// <summary>
/// Reads a request body ourselves rather than through minimal-API binding, whose errors name no
/// field: checks the Content-Type (415) and the size (413), parses the JSON, and reports every
/// unknown or repeated field, then a wrong type, under its JSON path (<c>hyperparameters.epochs</c>).
/// </summary>
public static class JsonRequestBody
{
    /// <summary>The key of errors about the body as a whole (empty, malformed, not an object).</summary>
    public const string BodyKey = "body";

    public static async Task<JsonBody<T>> ReadAsync<T>(
        HttpRequest request, long maxBytes, JsonSerializerOptions options, CancellationToken cancellationToken)
        where T : class
    {
        if (!IsJson(request.ContentType))
            return new(null, Problems.UnsupportedMediaType(request.ContentType), null);
        if (request.ContentLength > maxBytes)
            return new(null, Problems.PayloadTooLarge(maxBytes), null);

        // Content-Length may be absent (chunked) or wrong, so the limit is also enforced on what
        // is actually read: one byte past it is enough to know the body is too large.
        var bytes = await ReadAtMostAsync(request.Body, maxBytes + 1, cancellationToken);
        if (bytes.Length > maxBytes)
            return new(null, Problems.PayloadTooLarge(maxBytes), null);
        if (bytes.Length == 0)
            return Invalid<T>(BodyKey, "A JSON object is required.");

        // A UTF-8 byte-order mark is legal in front of JSON text but not for the parser.
        var json = bytes.AsMemory();
        if (json.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            json = json[3..];

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions
            {
                MaxDepth = options.MaxDepth,
                AllowTrailingCommas = false,
                CommentHandling = JsonCommentHandling.Disallow,
            });
        }
        catch (JsonException e)
        {
            return Invalid<T>(BodyKey,
                $"Malformed JSON at line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1} of that line.");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                return Invalid<T>(BodyKey, $"Must be a JSON object; got {Describe(document.RootElement.ValueKind)}.");

            // The serializer stops at the first problem; this pass names every unknown or
            // repeated field at once, so a client fixes them all in one round trip.
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            FindUnknownFields(document.RootElement, options.GetTypeInfo(typeof(T)), "", options, errors);
            if (errors.Count > 0)
                return new(null, null, errors);

            try
            {
                var value = document.Deserialize<T>(options);
                return value is null ? Invalid<T>(BodyKey, "A JSON object is required.") : new JsonBody<T>(value, null, null);
            }
            catch (JsonException e)
            {
                var field = FieldFromJsonPath(e.Path);
                return Invalid<T>(field, $"Invalid value: expected {Expectation(typeof(T), field, options)}.");
            }
        }
    }

    /// <summary><c>application/json</c> or any <c>+json</c> type, in UTF-8 (the default) if a charset is named.</summary>
    public static bool IsJson(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType))
            return false;
        var isJson = mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.Type.Equals("application", StringComparison.OrdinalIgnoreCase)
                && mediaType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase));
        var charset = mediaType.Charset;
        return isJson && (!charset.HasValue || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary><c>$.hyperparameters.epochs</c> → <c>hyperparameters.epochs</c>; <c>$</c> → <see cref="BodyKey"/>.</summary>
    public static string FieldFromJsonPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
            return BodyKey;
        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    private static JsonBody<T> Invalid<T>(string field, string message) where T : class =>
        new(null, null, new Dictionary<string, string[]> { [field] = [message] });

    private static async Task<byte[]> ReadAtMostAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (buffer.Length < limit)
        {
            var wanted = (int)Math.Min(chunk.Length, limit - buffer.Length);
            var read = await body.ReadAsync(chunk.AsMemory(0, wanted), cancellationToken);
            if (read == 0)
                break;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static void FindUnknownFields(
        JsonElement element, JsonTypeInfo typeInfo, string path, JsonSerializerOptions options, Dictionary<string, string[]> errors)
    {
        if (element.ValueKind == JsonValueKind.Object && typeInfo.Kind == JsonTypeInfoKind.Object)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                var field = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                if (!seen.Add(property.Name))
                {
                    errors[field] = ["Given more than once."];
                    continue;
                }
                var known = typeInfo.Properties.FirstOrDefault(p => string.Equals(p.Name, property.Name, StringComparison.Ordinal));
                if (known is null)
                {
                    errors[field] = [$"Unknown field; the fields here are: {string.Join(", ", typeInfo.Properties.Select(p => p.Name))}."];
                    continue;
                }
                FindUnknownFields(property.Value, options.GetTypeInfo(known.PropertyType), field, options, errors);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array && typeInfo.Kind == JsonTypeInfoKind.Enumerable && typeInfo.ElementType is { } elementType)
        {
            var elementInfo = options.GetTypeInfo(elementType);
            var index = 0;
            foreach (var item in element.EnumerateArray())
                FindUnknownFields(item, elementInfo, $"{path}[{index++}]", options, errors);
        }
    }

    /// <summary>What the field at <paramref name="field"/> should hold, from the request type's own shape.</summary>
    private static string Expectation(Type root, string field, JsonSerializerOptions options)
    {
        var type = root;
        if (field != BodyKey)
        {
            foreach (var segment in field.Split('.'))
            {
                var name = segment;
                var bracket = segment.IndexOf('[', StringComparison.Ordinal);
                if (bracket >= 0)
                    name = segment[..bracket];
                var info = options.GetTypeInfo(type);
                var property = info.Properties.FirstOrDefault(p => p.Name == name);
                if (property is null)
                    return "a valid value";
                type = property.PropertyType;
                if (bracket >= 0 && options.GetTypeInfo(type).ElementType is { } elementType)
                    type = elementType;
            }
        }
        return DescribeType(type, options);
    }

    private static string DescribeType(Type type, JsonSerializerOptions options)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(int))
            return "an integer (32-bit)";
        if (type == typeof(long))
            return "an integer";
        if (type == typeof(double))
            return "a number";
        if (type == typeof(string))
            return "a string";
        if (type == typeof(bool))
            return "true or false";
        if (type == typeof(Guid))
            return "a job id (a GUID such as 0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e)";
        if (type == typeof(JsonElement))
            return "a valid value";
        var info = options.GetTypeInfo(type);
        return info.Kind switch
        {
            JsonTypeInfoKind.Enumerable when info.ElementType is { } element => $"an array of {Plural(DescribeType(element, options))}",
            JsonTypeInfoKind.Object => "an object",
            _ => "a valid value",
        };
    }

    private static string Plural(string description) => description switch
    {
        "a string" => "strings",
        "a number" => "numbers",
        "an object" => "objects",
        _ => description,
    };

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
