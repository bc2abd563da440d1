using System.Net.Http.Headers;
using System.Text;

namespace TrainingService.Api.Tests.Infrastructure;

/// <summary>One received event; a block of only comment lines comes back with <see cref="Comment"/> set.</summary>
public sealed record ReceivedEvent(string? Event, string? Id, string Data, string? Comment);

/// <summary>A minimal Server-Sent Events reader over an open streaming response, as a browser's EventSource parses it.</summary>
public sealed class ServerSentEventsClient : IAsyncDisposable
{
    private readonly HttpResponseMessage response;
    private readonly StreamReader reader;

    private ServerSentEventsClient(HttpResponseMessage response, Stream body)
    {
        this.response = response;
        reader = new StreamReader(body, Encoding.UTF8);
    }

    public HttpResponseMessage Response => response;

    public static async Task<ServerSentEventsClient> OpenAsync(HttpClient client, string url, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
            request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new ServerSentEventsClient(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next event or comment; null when the server closed the stream. Fails if nothing comes within <paramref name="timeout"/>.</summary>
    public async Task<ReceivedEvent?> NextAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        string? eventName = null, id = null, comment = null;
        var data = new StringBuilder();
        var any = false;
        while (true)
        {
            string? line;
            try
            {
                line = await reader.ReadLineAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No server-sent event within {timeout}.");
            }
            if (line is null)
                return any ? new ReceivedEvent(eventName, id, data.ToString(), comment) : null;
            if (line.Length == 0)
            {
                if (any)
                    return new ReceivedEvent(eventName, id, data.ToString(), comment);
                continue;
            }
            if (line.StartsWith(':'))
            {
                comment = line[1..].Trim();
                any = true;
                continue;
            }
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "event":
                    eventName = value;
                    any = true;
                    break;
                case "id":
                    id = value;
                    any = true;
                    break;
                case "data":
                    if (data.Length > 0)
                        data.Append('\n');
                    data.Append(value);
                    any = true;
                    break;
                // "retry" only tunes reconnection; it is not an event.
            }
        }
    }

    /// <summary>The next real event, skipping keep-alive comments.</summary>
    public async Task<ReceivedEvent?> NextEventAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
                throw new TimeoutException($"No server-sent event within {timeout}.");
            var received = await NextAsync(remaining);
            if (received is null || received.Event is not null || received.Data.Length > 0)
                return received;
        }
    }

    public async ValueTask DisposeAsync()
    {
        reader.Dispose();
        response.Dispose();
        await Task.CompletedTask;
    }
}
