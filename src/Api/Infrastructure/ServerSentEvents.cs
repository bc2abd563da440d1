using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace TrainingService.Api.Infrastructure;

/// <summary>
/// Writes a <c>text/event-stream</c> response by hand: the framework's SSE result cannot write
/// comment lines, and the keep-alive comments are what stop proxies from closing an idle stream
/// between epochs that can be minutes apart.
/// </summary>
public sealed class ServerSentEventWriter
{
    public const string ContentType = "text/event-stream";

    private readonly HttpResponse response;
    private readonly JsonSerializerOptions json;
    private readonly TimeProvider time;
    private bool pending;

    private ServerSentEventWriter(HttpResponse response, JsonSerializerOptions json, TimeProvider time)
    {
        this.response = response;
        this.json = json;
        this.time = time;
        LastWrite = time.GetTimestamp();
    }

    /// <summary>When something was last sent, as a <see cref="TimeProvider"/> timestamp.</summary>
    public long LastWrite { get; private set; }

    /// <summary>Sends the headers at once (so the client knows the stream is open) and turns off response buffering.</summary>
    public static async Task<ServerSentEventWriter> StartAsync(
        HttpContext context, JsonSerializerOptions json, TimeProvider time, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-cache";
        // nginx buffers proxied responses unless told not to; a buffered stream is no stream.
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var writer = new ServerSentEventWriter(response, json, time);
        // Clients that reconnect wait this long first: long enough not to hammer a restarting server.
        await writer.WriteRawAsync("retry: 2000\n\n", cancellationToken);
        await writer.FlushAsync(cancellationToken);
        return writer;
    }

    /// <summary>
    /// One event: <c>event:</c>, optional <c>id:</c>, and the value as one line of JSON. Buffered
    /// until <see cref="FlushAsync"/>, so a burst of events (a reconnect's backlog) goes out in one write.
    /// </summary>
    public Task WriteEventAsync<T>(string eventName, string? id, T data, CancellationToken cancellationToken)
    {
        var builder = new StringBuilder();
        builder.Append("event: ").Append(eventName).Append('\n');
        if (id is not null)
            builder.Append("id: ").Append(id).Append('\n');
        // Compact JSON has no raw newlines (they are escaped inside strings), so one data line holds it.
        builder.Append("data: ").Append(JsonSerializer.Serialize(data, json)).Append("\n\n");
        return WriteRawAsync(builder.ToString(), cancellationToken);
    }

    /// <summary>A comment line, which clients ignore; used as the keep-alive.</summary>
    public async Task WriteCommentAsync(string comment, CancellationToken cancellationToken)
    {
        await WriteRawAsync($": {comment}\n\n", cancellationToken);
        await FlushAsync(cancellationToken);
    }

    /// <summary>Sends what was written since the last flush, if anything.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (!pending)
            return;
        await response.Body.FlushAsync(cancellationToken);
        pending = false;
        LastWrite = time.GetTimestamp();
    }

    private Task WriteRawAsync(string text, CancellationToken cancellationToken)
    {
        pending = true;
        return response.WriteAsync(text, Encoding.UTF8, cancellationToken);
    }

    /// <summary>Reads <c>Last-Event-ID</c> (sent by a reconnecting EventSource) as a non-negative number.</summary>
    public static bool TryGetLastEventId(HttpRequest request, out long lastEventId, out string? error)
    {
        lastEventId = 0;
        error = null;
        var values = request.Headers["Last-Event-ID"];
        if (values.Count == 0 || string.IsNullOrWhiteSpace(values.ToString()))
            return true;
        if (values.Count == 1 && long.TryParse(values[0], System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out lastEventId))
            return true;
        error = "Must be the id of the last event received: a whole number, 0 or more.";
        return false;
    }
}
